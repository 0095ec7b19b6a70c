-- Records the portals keep current through the API, and what the citizen services create.
CREATE TABLE registrations (
    national_id  TEXT PRIMARY KEY,
    mobile       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('in_review', 'activated', 'approved_visit_branch', 'identity_mismatch')),
    first_name   TEXT NOT NULL DEFAULT '',
    last_name    TEXT NOT NULL DEFAULT '',
    gender       TEXT NOT NULL DEFAULT 'unknown' CHECK (gender IN ('male', 'female', 'unknown')),
    created_at   DOUBLE PRECISION NOT NULL,
    updated_at   DOUBLE PRECISION NOT NULL
);
CREATE INDEX registrations_mobile ON registrations (mobile);

CREATE TABLE loans (
    tracking_code  TEXT PRIMARY KEY,
    national_id    TEXT NOT NULL,
    mobile         TEXT NOT NULL,
    stage          TEXT NOT NULL CHECK (stage IN ('submitted', 'agency_review', 'bank_review', 'bank_no_credit', 'approved', 'paid', 'rejected')),
    bank           TEXT NOT NULL DEFAULT '',
    branch         TEXT NOT NULL DEFAULT '',
    amount         BIGINT NOT NULL DEFAULT 0,
    created_at     DOUBLE PRECISION NOT NULL,
    updated_at     DOUBLE PRECISION NOT NULL
);
CREATE INDEX loans_mobile ON loans (mobile, updated_at);

CREATE TABLE complaints (
    ticket         TEXT PRIMARY KEY,
    msisdn         TEXT NOT NULL,
    subject        TEXT NOT NULL CHECK (subject IN ('loan_rejected', 'workshop_not_found', 'registration', 'other')),
    workshop_code  TEXT NOT NULL DEFAULT '',
    loan_code      TEXT NOT NULL DEFAULT '',
    body           TEXT NOT NULL DEFAULT '',
    channel        TEXT NOT NULL DEFAULT 'ussd',
    status         TEXT NOT NULL CHECK (status IN ('open', 'in_review', 'answered', 'closed')),
    answer         TEXT NOT NULL DEFAULT '',
    created_at     DOUBLE PRECISION NOT NULL,
    updated_at     DOUBLE PRECISION NOT NULL
);
CREATE INDEX complaints_msisdn ON complaints (msisdn, status);
CREATE INDEX complaints_created ON complaints (created_at, ticket);

-- Temporary passwords: only a hash is kept; a new reset supersedes every earlier one.
CREATE TABLE password_resets (
    id             {identity},
    national_id    TEXT NOT NULL,
    mobile         TEXT NOT NULL,
    tracking_code  TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'superseded', 'spent', 'used')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    created_at     DOUBLE PRECISION NOT NULL,
    expires_at     DOUBLE PRECISION NOT NULL
);
CREATE INDEX password_resets_nid ON password_resets (national_id, id);

CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    key_hash    TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0
);

-- Fixed-window counters: key = "<rule>:<subject>", one row per window.
CREATE TABLE rate_limits (
    key           TEXT NOT NULL,
    window_start  DOUBLE PRECISION NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- The transactional outbox: written in the same transaction as the record change that owes it.
CREATE TABLE outbox (
    id                   TEXT PRIMARY KEY,
    recipient            TEXT NOT NULL,
    template_id          TEXT NOT NULL,
    lang                 TEXT NOT NULL,
    params               TEXT NOT NULL,
    body                 TEXT NOT NULL,
    priority             INTEGER NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed')),
    source               TEXT NOT NULL DEFAULT '',
    attempts             INTEGER NOT NULL DEFAULT 0,
    due_at               DOUBLE PRECISION NOT NULL,
    lease_until          DOUBLE PRECISION,
    provider             TEXT,
    provider_message_id  TEXT,
    provider_status      TEXT,
    cost                 BIGINT,
    error                TEXT,
    callback_url         TEXT,
    created_at           DOUBLE PRECISION NOT NULL,
    updated_at           DOUBLE PRECISION NOT NULL,
    sent_at              DOUBLE PRECISION,
    final_at             DOUBLE PRECISION
);
CREATE INDEX outbox_due ON outbox (status, priority, due_at);
CREATE INDEX outbox_provider_id ON outbox (provider, provider_message_id);
CREATE INDEX outbox_recipient ON outbox (recipient, template_id, created_at);
