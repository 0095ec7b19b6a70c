"""The PostgreSQL storage: the same mixin split as the SQLite one, for many gateway processes on
one shared database."""

from __future__ import annotations

from gateway.storage.postgres_dispatch import PostgresDispatch
from gateway.storage.postgres_inbound import PostgresInbound
from gateway.storage.postgres_outbox import PostgresNotifications, PostgresOutbox
from gateway.storage.postgres_records import PostgresRecords
from gateway.storage.postgres_security import PostgresSecurity
from gateway.storage.postgres_sessions import PostgresSessions


class PostgresStorage(
    PostgresSessions,
    PostgresRecords,
    PostgresSecurity,
    PostgresOutbox,
    PostgresDispatch,
    PostgresNotifications,
    PostgresInbound,
):
    pass
