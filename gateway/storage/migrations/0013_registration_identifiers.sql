-- Seed 003: a foreign national registers with the identifier a branch gave them (شناسه اتباع
-- خارجی), and a record may carry its 10-digit insurance number; either is matched only together
-- with the caller's number, which the registrations_mobile index finds first.
ALTER TABLE registrations ADD COLUMN foreign_id TEXT NOT NULL DEFAULT '';
ALTER TABLE registrations ADD COLUMN insurance_number TEXT NOT NULL DEFAULT '';
