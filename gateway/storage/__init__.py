"""The storage layer: owns all SQL. `open_storage` picks the backend from the database URL:
`sqlite:///path` (the embedded default) or `postgresql://…` / `postgres://…` (many processes on
one shared database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gateway.storage.sqlite import SqliteStorage
from sessions.ports import Storage

SQLITE_PREFIX = (
    "sqlite:///"  # sqlite:///relative.db, sqlite:////absolute/path.db, sqlite:///:memory:
)
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


class EmbeddedStorage(SqliteStorage):
    """SQLite as the gateway uses it: one process, whose in-process per-key locks already
    serialise a session's hops, so the cross-process session lock has nothing to do."""

    @asynccontextmanager
    async def session_lock(self, key: str) -> AsyncIterator[None]:
        yield


async def open_storage(url: str) -> Storage:
    if url.startswith(SQLITE_PREFIX) and len(url) > len(SQLITE_PREFIX):
        return await EmbeddedStorage.open(url[len(SQLITE_PREFIX) :])
    if url.startswith(POSTGRES_PREFIXES):
        from gateway.storage.postgres import PostgresStorage  # asyncpg only when it is used

        return await PostgresStorage.open(url)
    raise ValueError("unsupported database URL: use sqlite:///path or postgresql://…")
