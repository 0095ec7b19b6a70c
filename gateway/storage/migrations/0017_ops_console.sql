-- The operator's console: its sign-in sessions (the cookie's token only as a hash, the CSRF
-- token of its forms), what happened to each message (each attempt with the provider's answer,
-- each check, each delivery report, each operator's action) for its timeline, and the console's
-- own actions.
CREATE TABLE ops_sessions (
    token_hash    TEXT PRIMARY KEY,
    key_id        TEXT NOT NULL,
    client        TEXT NOT NULL,
    csrf          TEXT NOT NULL,
    created_at    DOUBLE PRECISION NOT NULL,
    last_seen_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX ops_sessions_seen ON ops_sessions (last_seen_at);

CREATE TABLE outbox_events (
    seq         {identity},
    message_id  TEXT NOT NULL,
    at          DOUBLE PRECISION NOT NULL,
    kind        TEXT NOT NULL,      -- attempt, check, report, requeued, cancelled
    attempt     INTEGER NOT NULL DEFAULT 0,
    provider    TEXT,
    outcome     TEXT NOT NULL,      -- the status it led to
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_events_message ON outbox_events (message_id, seq);

CREATE TABLE ops_actions (
    seq      {identity},
    at       DOUBLE PRECISION NOT NULL,
    client   TEXT NOT NULL,
    key_id   TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    outcome  TEXT NOT NULL
);
CREATE INDEX ops_actions_at ON ops_actions (at);
