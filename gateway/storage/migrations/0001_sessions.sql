-- Migrations are written once for both databases. `{identity}` and `{bytes}` are the two types
-- each spells its own way (TYPES in storage/sqlite/database.py and storage/postgres/database.py);
-- DOUBLE PRECISION is a REAL in SQLite.
-- USSD sessions: one row per operator session; the state is the engine's JSON.
CREATE TABLE ussd_sessions (
    key              TEXT PRIMARY KEY,
    msisdn           TEXT NOT NULL,
    state            TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'interrupted', 'ended')),
    last_hop_key     TEXT,
    last_reply_text  TEXT NOT NULL,
    last_reply_end   INTEGER NOT NULL,
    created_at       DOUBLE PRECISION NOT NULL,
    updated_at       DOUBLE PRECISION NOT NULL
);
CREATE INDEX ussd_sessions_msisdn ON ussd_sessions (msisdn, updated_at);
CREATE INDEX ussd_sessions_updated ON ussd_sessions (updated_at);
