"""The PostgreSQL connection: one asyncpg pool, versioned migrations, short transactions.

Many gateway processes share one database, so every guarantee the SQLite backend gets from its
single writer is made explicit here: row locks (`FOR UPDATE`, `SKIP LOCKED` for claims), atomic
upserts, and transaction-scoped advisory locks where a rule spans rows that may not exist yet.

A second, small pool holds the per-session advisory locks (`session_lock`) for the length of a
USSD hop; kept apart from the query pool, a hop waiting for a lock never holds a connection that
another hop needs to finish.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

from gateway.storage.common import migration_scripts

log = logging.getLogger(__name__)

# Per process; PostgreSQL's default max_connections (100) then holds several processes. The URL
# may change them: `postgresql://…/db?pool_size=20&lock_pool_size=20`.
POOL_SIZE = 8
LOCK_POOL_SIZE = 8
COMMAND_TIMEOUT_S = 30.0
MIGRATION_LOCK = "dargah:migrate"
VERSION_TABLE = "dargah_schema_version"

Connection = Any  # asyncpg's pooled connection proxy; asyncpg ships no precise stubs for it


def pool_sizes(url: str) -> tuple[str, int, int]:
    """The URL without this gateway's own parameters, and the two pool sizes it asks for (the
    other query parameters go to asyncpg, which passes unknown ones as server settings)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    own = {k: int(v) for k, v in query if k in ("pool_size", "lock_pool_size")}
    rest = [(k, v) for k, v in query if k not in own]
    bare = urlunsplit(parts._replace(query=urlencode(rest)))
    return (
        bare,
        max(1, own.get("pool_size", POOL_SIZE)),
        max(1, own.get("lock_pool_size", LOCK_POOL_SIZE)),
    )


def affected(status: str) -> int:
    """The row count of a command tag such as `UPDATE 3` or `INSERT 0 1`."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


async def xact_lock(conn: Connection, *keys: str) -> None:
    """Transaction-scoped advisory locks on text keys, always taken in one order (no deadlock)."""
    for key in sorted(set(keys)):
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


async def migrate(conn: Connection) -> int:
    """Applies what is missing, under a session advisory lock: processes that start together
    wait for the first one, then find nothing left to do."""
    schema = await conn.fetchval("SELECT current_schema()")
    if schema is None:
        raise RuntimeError("the database URL's search_path names no existing schema")
    lock = f"{MIGRATION_LOCK}:{schema}"
    await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", lock)
    try:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
        )
        current = int(await conn.fetchval(f"SELECT COALESCE(MAX(version), 0) FROM {VERSION_TABLE}"))
        for version, name, sql in migration_scripts("postgres"):
            if version <= current:
                continue
            log.info("applying migration %s", name)
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    f"INSERT INTO {VERSION_TABLE} (version, name, applied_at) VALUES ($1, $2, $3)",
                    version,
                    name,
                    time.time(),
                )
            current = version
        return current
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", lock)


async def _keep_session(conn: Connection) -> None:
    """The query pool's reset: nothing beyond asyncpg's own rollback of an open transaction."""


async def _unlock_all(conn: Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock_all()")


class PostgresBase:
    def __init__(self, pool: asyncpg.Pool, locks: asyncpg.Pool) -> None:
        self._pool = pool
        self._locks = locks

    @classmethod
    async def open(cls, url: str) -> Self:
        url, size, lock_size = pool_sizes(url)
        conn = await asyncpg.connect(url, command_timeout=COMMAND_TIMEOUT_S)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        # Query connections keep no session state (advisory locks here are transaction-scoped),
        # so handing one back costs no reset round trip; asyncpg still rolls back an open
        # transaction. A lock connection hands back its session lock as it is returned.
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=size,
            command_timeout=COMMAND_TIMEOUT_S,
            reset=_keep_session,
        )
        try:
            locks = await asyncpg.create_pool(
                url, min_size=0, max_size=lock_size, reset=_unlock_all
            )
        except BaseException:
            await pool.close()
            raise
        return cls(pool, locks)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection in autocommit: for reads and single-statement writes."""
        async with self._pool.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def session_lock(self, key: str) -> AsyncIterator[None]:
        """Serialises the hops of one USSD session across every process on this database: a
        session advisory lock on a connection of the lock pool, released as the connection goes
        back (`_unlock_all`; should that fail, the connection is closed, which releases it too)."""
        async with self._locks.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", f"session:{key}")
            yield

    async def ping(self) -> bool:
        async with self.connection() as conn:
            await conn.fetchval("SELECT 1")
        return True

    async def counts(self) -> dict[str, int]:
        async with self.connection() as conn:
            rows = await conn.fetch("SELECT status, COUNT(*) FROM outbox GROUP BY status")
            active = await conn.fetchval(
                "SELECT COUNT(*) FROM ussd_sessions WHERE status = 'active'"
            )
        found = {f"outbox_{row[0]}": int(row[1]) for row in rows}
        found["sessions_active"] = int(active or 0)
        return found

    async def close(self) -> None:
        await self._locks.close()
        await self._pool.close()
