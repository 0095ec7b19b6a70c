-- The audit trail: every change made through /v1 (and the operator's key commands), written in
-- the transaction of the change itself. Values are masked before they are written.
CREATE TABLE audit (
    seq         {identity},                       -- the order entries were written in
    created_at  DOUBLE PRECISION NOT NULL,
    key_id      TEXT NOT NULL,                    -- the API key's id; '' for the command line
    client      TEXT NOT NULL,                    -- the key's name, or 'operator'
    action      TEXT NOT NULL,                    -- `<object>.<verb>`: complaints.changed
    target      TEXT NOT NULL,                    -- the object's key, masked when personal
    before      TEXT,                             -- JSON, masked; NULL when it did not exist
    after       TEXT                              -- JSON, masked; NULL when it is gone
);
CREATE INDEX audit_created ON audit (created_at, seq);
CREATE INDEX audit_client ON audit (client, created_at, seq);
CREATE INDEX audit_action ON audit (action, created_at, seq);
