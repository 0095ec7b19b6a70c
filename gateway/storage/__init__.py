"""The storage layer: owns all SQL. `open_storage` picks the backend from the database URL:
`sqlite:///path` (the embedded default) or `postgresql://…` / `postgres://…` (many processes on
one shared database)."""

from __future__ import annotations

from gateway.storage.sqlite import SqliteStorage
from sessions.ports import Storage

SQLITE_PREFIX = (
    "sqlite:///"  # sqlite:///relative.db, sqlite:////absolute/path.db, sqlite:///:memory:
)
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


async def open_storage(url: str) -> Storage:
    if url.startswith(SQLITE_PREFIX) and len(url) > len(SQLITE_PREFIX):
        return await SqliteStorage.open(url[len(SQLITE_PREFIX) :])
    if url.startswith(POSTGRES_PREFIXES):
        from gateway.storage.postgres import PostgresStorage  # asyncpg only when it is used

        return await PostgresStorage.open(url)
    raise ValueError("unsupported database URL: use sqlite:///path or postgresql://…")
