"""The SQLite storage: one class composed of one mixin per concern, all SQL in this package."""

from __future__ import annotations

from gateway.storage.sqlite_dispatch import SqliteDispatch
from gateway.storage.sqlite_inbound import SqliteInbound
from gateway.storage.sqlite_outbox import SqliteNotifications, SqliteOutbox
from gateway.storage.sqlite_records import SqliteRecords
from gateway.storage.sqlite_security import SqliteSecurity
from gateway.storage.sqlite_sessions import SqliteSessions


class SqliteStorage(
    SqliteSessions,
    SqliteRecords,
    SqliteSecurity,
    SqliteOutbox,
    SqliteDispatch,
    SqliteNotifications,
    SqliteInbound,
):
    pass
