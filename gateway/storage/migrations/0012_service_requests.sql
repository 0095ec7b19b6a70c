-- Kartaban service requests (seed 004): submitted, reviewed, referred to the free Q&A or
-- invoiced, paid and delivered, or cancelled. `client` is the API client that created one (empty
-- for a citizen's own, filed by USSD or SMS); `services` is a comma-separated list of keys.
CREATE TABLE service_requests (
    number       TEXT PRIMARY KEY,
    client       TEXT NOT NULL DEFAULT '',
    national_id  TEXT NOT NULL DEFAULT '',
    mobile       TEXT NOT NULL,
    services     TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('submitted', 'in_review', 'referred', 'invoiced', 'paid', 'delivered', 'cancelled')),
    amount       BIGINT NOT NULL DEFAULT 0,
    payment_ref  TEXT NOT NULL DEFAULT '',
    delivery     TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT '',
    channel      TEXT NOT NULL DEFAULT 'api',
    lang         TEXT NOT NULL DEFAULT 'fa',
    created_at   DOUBLE PRECISION NOT NULL,
    updated_at   DOUBLE PRECISION NOT NULL
);
-- A caller's own requests, newest first ("my requests"), and the unfinished ones the cap counts.
CREATE INDEX service_requests_mobile ON service_requests (mobile, status);
CREATE INDEX service_requests_created ON service_requests (created_at, number);
