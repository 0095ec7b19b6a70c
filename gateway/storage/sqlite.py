"""The SQLite storage: one class composed of one mixin per concern, all SQL in this package."""

from __future__ import annotations

from gateway.storage.sqlite_sessions import SqliteSessions


class SqliteStorage(SqliteSessions):
    pass
