-- The outbox indexes that only some states read hold only those rows: a message queued (no
-- lease, not sent, no provider id, not ended) enters none of them. Each query that reads one
-- implies its WHERE (a comparison on a column implies it is not NULL), so both planners keep it.
DROP INDEX outbox_lease;
DROP INDEX outbox_sent;
DROP INDEX outbox_provider_id;
DROP INDEX outbox_callbacks;
CREATE INDEX outbox_lease ON outbox (status, lease_until) WHERE lease_until IS NOT NULL;
CREATE INDEX outbox_sent ON outbox (status, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_provider_id ON outbox (provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
CREATE INDEX outbox_callbacks ON outbox (callback_state, callback_due_at)
    WHERE callback_url IS NOT NULL AND final_at IS NOT NULL;
