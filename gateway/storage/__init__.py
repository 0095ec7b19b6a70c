"""The storage layer: owns all SQL. `open_storage` picks the backend from the database URL."""

from __future__ import annotations

from gateway.storage.sqlite import SqliteStorage
from sessions.ports import Storage

SQLITE_PREFIX = (
    "sqlite:///"  # sqlite:///relative.db, sqlite:////absolute/path.db, sqlite:///:memory:
)


async def open_storage(url: str) -> Storage:
    if url.startswith(SQLITE_PREFIX) and len(url) > len(SQLITE_PREFIX):
        return await SqliteStorage.open(url[len(SQLITE_PREFIX) :])
    raise ValueError("unsupported database URL: use sqlite:///path (PostgreSQL comes later)")
