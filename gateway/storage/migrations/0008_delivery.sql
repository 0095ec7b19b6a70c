-- The delivery model of an outbox that never sends twice and never guesses.
-- `expires_at`: a message's validity (a code or a reset password expires with it; a notice after
-- the gateway's message validity); past it a message waiting to go, or whose outcome is unknown,
-- fails with that reason. `sealed`: the text of a message that carries a secret, sealed with the
-- gateway's key, while `body` keeps only a masked text. `handed_at`: when its request last left for
-- `provider`, the point a reconciliation searches around. `checks`: reconciliations tried so far.
ALTER TABLE outbox ADD COLUMN expires_at DOUBLE PRECISION;
ALTER TABLE outbox ADD COLUMN sealed {bytes};
ALTER TABLE outbox ADD COLUMN handed_at DOUBLE PRECISION;
ALTER TABLE outbox ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET expires_at = due_at + 604800;
CREATE INDEX outbox_expiry ON outbox (status, expires_at);

-- A delivery report that arrived before its send's outcome was recorded: applied when it is.
CREATE TABLE pending_reports (
    provider             TEXT NOT NULL,
    provider_message_id  TEXT NOT NULL,
    status               TEXT NOT NULL,
    provider_status      TEXT NOT NULL,
    received_at          DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (provider, provider_message_id)
);
CREATE INDEX pending_reports_received ON pending_reports (received_at);

-- Each provider's health, shared by every dispatcher: `paused` by an account error (credit, key,
-- IP, line) or by hand (`manual`), `failing` after calls it refused; probed again at `probe_at`.
CREATE TABLE provider_states (
    name      TEXT PRIMARY KEY,
    state     TEXT NOT NULL CHECK (state IN ('active', 'paused', 'failing')),
    reason    TEXT NOT NULL DEFAULT '',
    manual    INTEGER NOT NULL DEFAULT 0,
    since     DOUBLE PRECISION NOT NULL,
    probe_at  DOUBLE PRECISION,
    failures  INTEGER NOT NULL DEFAULT 0
);
