-- The resume look-up finds a caller's sessions by number alone: every hop moves `updated_at`, and
-- an index that held it was rewritten on every hop, one more page to log per hop; a number is
-- written once, when its session opens. A caller has few sessions inside the retention.
DROP INDEX ussd_sessions_msisdn;
CREATE INDEX ussd_sessions_caller ON ussd_sessions (msisdn);
