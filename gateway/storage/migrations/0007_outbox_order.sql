-- The outbox again, the same on both databases: `seq` is the order messages were queued in (the
-- claim's last tie-break), the statuses an unanswered send and a cancelled message need, and the
-- route a message takes. Rows are copied in the order they were queued as far as it is known.
CREATE TABLE outbox_next (
    seq                  {identity},
    id                   TEXT NOT NULL UNIQUE,
    recipient            TEXT NOT NULL,
    template_id          TEXT NOT NULL,
    lang                 TEXT NOT NULL,
    params               TEXT NOT NULL,
    body                 TEXT NOT NULL,
    priority             INTEGER NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'unknown', 'sent', 'delivered', 'undelivered', 'failed', 'cancelled')),
    source               TEXT NOT NULL DEFAULT '',
    route                TEXT NOT NULL DEFAULT '',
    attempts             INTEGER NOT NULL DEFAULT 0,
    due_at               DOUBLE PRECISION NOT NULL,
    lease_until          DOUBLE PRECISION,
    provider             TEXT,
    provider_message_id  TEXT,
    provider_status      TEXT,
    cost                 BIGINT,
    error                TEXT,
    callback_url         TEXT,
    created_at           DOUBLE PRECISION NOT NULL,
    updated_at           DOUBLE PRECISION NOT NULL,
    sent_at              DOUBLE PRECISION,
    final_at             DOUBLE PRECISION,
    polled_at            DOUBLE PRECISION,
    callback_state       TEXT,
    callback_attempts    INTEGER NOT NULL DEFAULT 0,
    callback_due_at      DOUBLE PRECISION
);
INSERT INTO outbox_next (id, recipient, template_id, lang, params, body, priority, status, source,
    attempts, due_at, lease_until, provider, provider_message_id, provider_status, cost, error,
    callback_url, created_at, updated_at, sent_at, final_at, polled_at, callback_state,
    callback_attempts, callback_due_at)
SELECT id, recipient, template_id, lang, params, body, priority, status, source,
    attempts, due_at, lease_until, provider, provider_message_id, provider_status, cost, error,
    callback_url, created_at, updated_at, sent_at, final_at, polled_at, callback_state,
    callback_attempts, callback_due_at
FROM outbox ORDER BY created_at, id;
DROP TABLE outbox;
ALTER TABLE outbox_next RENAME TO outbox;
-- The claim reads due messages state by state, each in its index's order (priority first, then
-- due time, then queue order), so a backlog of any size costs a claim only the rows it takes.
CREATE INDEX outbox_due ON outbox (status, priority, due_at, seq);
CREATE INDEX outbox_lease ON outbox (status, lease_until);
CREATE INDEX outbox_sent ON outbox (status, sent_at);
CREATE INDEX outbox_provider_id ON outbox (provider, provider_message_id);
CREATE INDEX outbox_recipient ON outbox (recipient, template_id, created_at);
CREATE INDEX outbox_callbacks ON outbox (callback_state, callback_due_at);
