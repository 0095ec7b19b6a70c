-- What the console provider "delivered", kept apart from the outbox (which masks a secret once
-- its message is final) so the web phone can show a demo's texts in full. The text is sealed
-- with the gateway's key like any secret at rest; rows older than a day are dropped as new ones
-- arrive.
CREATE TABLE console_inbox (
    seq          {identity},
    recipient    TEXT NOT NULL,
    local_id     TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    sealed       {bytes} NOT NULL,
    received_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX console_inbox_recipient ON console_inbox (recipient, seq);
CREATE INDEX console_inbox_received ON console_inbox (received_at);
