-- Inbound SMS seen, by the provider's message id, so a repeated callback (or the same message
-- from both the callback and the `sms/receive` poller) is answered once. No text is kept.
CREATE TABLE inbound_sms (
    provider             TEXT NOT NULL,
    provider_message_id  TEXT NOT NULL,
    sender               TEXT NOT NULL,
    command              TEXT NOT NULL DEFAULT '',
    received_at          DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (provider, provider_message_id)
);
CREATE INDEX inbound_sms_received ON inbound_sms (received_at);
