-- Idempotency keys of POST /v1/notifications: a retried request gets the first answer back.
CREATE TABLE idempotency_keys (
    key           TEXT PRIMARY KEY,      -- "<api key name>:<Idempotency-Key header>"
    request_hash  TEXT NOT NULL,
    response      TEXT NOT NULL,
    created_at    DOUBLE PRECISION NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Final-status callbacks to the system that asked for a message.
ALTER TABLE outbox ADD COLUMN callback_state TEXT;        -- NULL (none), pending, done, failed
ALTER TABLE outbox ADD COLUMN callback_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN callback_due_at DOUBLE PRECISION;
CREATE INDEX outbox_callbacks ON outbox (callback_state, callback_due_at);
