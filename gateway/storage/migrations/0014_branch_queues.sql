-- Seed 000: applicants pick the branch with the fewest applications in its queue, and the
-- no-credit message sends them to another bank or branch; the portal keeps the queues current
-- and a loan carries its applicant's city, so the gateway can name the shortest three there.
CREATE TABLE branch_queues (
    key         TEXT PRIMARY KEY,
    bank        TEXT NOT NULL,
    branch      TEXT NOT NULL,
    city        TEXT NOT NULL,
    queue       INTEGER NOT NULL CHECK (queue >= 0),
    bank_en     TEXT NOT NULL DEFAULT '',
    branch_en   TEXT NOT NULL DEFAULT '',
    created_at  DOUBLE PRECISION NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX branch_queues_city ON branch_queues (city, queue, key);

ALTER TABLE loans ADD COLUMN city TEXT NOT NULL DEFAULT '';
