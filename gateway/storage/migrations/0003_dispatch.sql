-- The dispatcher's bookkeeping: when a sent message's status was last asked for (the poller asks
-- again only after `status_poll_after_s`), and indexes for its two scans.
ALTER TABLE outbox ADD COLUMN polled_at DOUBLE PRECISION;
CREATE INDEX outbox_lease ON outbox (status, lease_until);
CREATE INDEX outbox_sent ON outbox (status, sent_at);
