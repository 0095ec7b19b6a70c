"""The storage layer: owns all SQL. Each store (sessions, records, outbox, dispatch, security,
verifications, inbound, console inbox) is one module written once over the small connection
interface of `database.py`; the backend behind it is picked from the database URL:
`sqlite:///path` (the embedded default) or `postgresql://…` / `postgres://…` (many processes on
one shared database)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Literal

from gateway.storage.audit import Audit
from gateway.storage.console import Console
from gateway.storage.console_inbox import ConsoleInbox
from gateway.storage.database import Database
from gateway.storage.dispatch import Dispatch
from gateway.storage.inbound import Inbound
from gateway.storage.outbox import Notifications, Outbox
from gateway.storage.records import Records
from gateway.storage.security import Security
from gateway.storage.sessions import SessionRows
from gateway.storage.signing_secrets import SigningSecrets
from gateway.storage.sqlite.database import SqliteDatabase
from gateway.storage.verifications import Verifications
from sessions.ports import Storage

SQLITE_PREFIX = (
    "sqlite:///"  # sqlite:///relative.db, sqlite:////absolute/path.db, sqlite:///:memory:
)
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


class Store(
    SessionRows,
    Records,
    Security,
    Verifications,
    Outbox,
    Notifications,
    Dispatch,
    Inbound,
    ConsoleInbox,
    Console,
    Audit,
    SigningSecrets,
):
    """Every store over one database."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    def unit_of_work(self) -> AbstractAsyncContextManager[None]:
        return self.db.unit()

    async def settled(self) -> None:
        await self.db.settled()

    async def ping(self) -> bool:
        async with self.db.reading() as tx:
            await tx.fetchval("SELECT 1")
        return True

    async def counts(self) -> dict[str, int]:
        async with self.db.reading() as tx:
            rows = await tx.fetch("SELECT status, COUNT(*) FROM outbox GROUP BY status")
            active = await tx.fetchval("SELECT COUNT(*) FROM ussd_sessions WHERE status = 'active'")
        found = {f"outbox_{row[0]}": int(row[1]) for row in rows}
        found["sessions_active"] = int(active or 0)
        return found

    async def oldest_due(self) -> float | None:
        async with self.db.reading() as tx:
            # The queued part of the (status, priority, due_at) index: the queue, not the outbox.
            found = await tx.fetchval("SELECT MIN(due_at) FROM outbox WHERE status = 'queued'")
        return float(found) if found is not None else None

    async def close(self) -> None:
        await self.db.close()


async def open_database(
    url: str, *, sqlite_synchronous: Literal["normal", "full"] = "normal"
) -> Database:
    if url.startswith(SQLITE_PREFIX) and len(url) > len(SQLITE_PREFIX):
        return await SqliteDatabase.open(url[len(SQLITE_PREFIX) :], sqlite_synchronous)
    if url.startswith(POSTGRES_PREFIXES):
        from gateway.storage.postgres.database import PostgresDatabase  # asyncpg only when used

        return await PostgresDatabase.open(url)
    raise ValueError("unsupported database URL: use sqlite:///path or postgresql://…")


async def open_storage(
    url: str, *, sqlite_synchronous: Literal["normal", "full"] = "normal"
) -> Storage:
    return Store(await open_database(url, sqlite_synchronous=sqlite_synchronous))
