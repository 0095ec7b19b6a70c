-- A bank and branch may carry their English names, for English screens and SMS; without them
-- an English screen prints the Persian name on a line of its own.
ALTER TABLE loans ADD COLUMN bank_en TEXT NOT NULL DEFAULT '';
ALTER TABLE loans ADD COLUMN branch_en TEXT NOT NULL DEFAULT '';

-- The language a caller chose on the main menu, offered again at the next session.
CREATE TABLE caller_languages (
    msisdn      TEXT PRIMARY KEY,
    lang        TEXT NOT NULL CHECK (lang IN ('fa', 'en')),
    updated_at  DOUBLE PRECISION NOT NULL
);
