-- Each client's secret for signing the callbacks made to it (X-Dargah-Signature), sealed.
CREATE TABLE signing_secrets (
    client      TEXT PRIMARY KEY,
    sealed      {bytes} NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);
