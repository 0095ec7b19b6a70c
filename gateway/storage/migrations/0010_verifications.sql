-- Verification codes made by the gateway for the portals (seed 001 activation and deletion
-- confirmation, seed 002 password recovery). Only the code's keyed hash is kept, bound to the id
-- and to the national ID when one was given; the code itself travels sealed in the outbox.
CREATE TABLE verifications (
    id          TEXT PRIMARY KEY,
    client      TEXT NOT NULL,
    mobile      TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    channel     TEXT NOT NULL,
    lang        TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'spent', 'voided')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  DOUBLE PRECISION NOT NULL,
    expires_at  DOUBLE PRECISION NOT NULL,
    decided_at  DOUBLE PRECISION
);
-- The resend interval (per number and purpose) and the hourly and daily caps (per number).
CREATE INDEX verifications_mobile ON verifications (mobile, purpose, created_at);
CREATE INDEX verifications_mobile_time ON verifications (mobile, created_at);

-- A verification code the provider may send through its OTP route (Kavenegar verify/lookup,
-- sms.ir send/verify): "<purpose>" or "<purpose>:call"; its sealed text then also holds the code.
ALTER TABLE outbox ADD COLUMN otp TEXT;
