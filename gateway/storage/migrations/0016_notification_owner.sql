-- `GET /v1/notifications` lists a client's own messages, newest first, by keyset.
CREATE INDEX outbox_source ON outbox (source, created_at, id);
