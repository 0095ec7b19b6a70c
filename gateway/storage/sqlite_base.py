"""The SQLite connection: WAL, versioned migrations, short serialised transactions.

One connection serves the process, driven from the loop (`sqlite_conn`). Every public storage
call takes the lock, so a coroutine never reads another one's half-finished transaction; each
write path is one short `BEGIN IMMEDIATE … COMMIT`. Several processes of one machine may share the
file (`GATEWAY_WORKERS`): WAL lets them read beside the one writer, a byte of the lock file beside
the database (`file_locks`) picks that writer, and other bytes serialise one session's hops and the
migrations across them. Many machines share PostgreSQL instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self

from gateway.storage.common import migration_scripts
from gateway.storage.file_locks import LOCK_SUFFIX, MIGRATION_SLOT, FileLocks
from gateway.storage.sqlite_conn import Checkpointer, Connection

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
MIGRATION_WAIT_S = 600.0
_NOTHING: contextlib.nullcontext[None] = contextlib.nullcontext()


class SqliteBase:
    def __init__(
        self, conn: Connection, checkpointer: Checkpointer, locks: FileLocks | None = None
    ) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._checkpointer = checkpointer
        self._locks = locks  # None for `:memory:`, which no other process can open
        # Plain tuples for the reads of every hop: a sqlite3.Row costs ~2 µs more a row.
        self._tuples = conn.raw.cursor()
        self._tuples.row_factory = None

    @classmethod
    async def open(cls, path: Path | str) -> Self:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = Connection.open(str(path))
        memory = str(path) == ":memory:"
        locks = None if memory else FileLocks(f"{path}{LOCK_SUFFIX}")
        # WAL lets readers run beside the writer; NORMAL sync in WAL is durable across a process
        # crash (a power cut may lose the last commits, never corrupt the file). Switched under
        # the migration byte: processes switching a new file at once can deadlock in SQLite's
        # lock upgrade, which answers one of them "database is locked" without waiting.
        if locks is None:
            await conn.execute("PRAGMA journal_mode=WAL")
        else:
            async with locks.hold_slot(MIGRATION_SLOT, limit_s=MIGRATION_WAIT_S):
                await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys=ON")
        # Checkpoints (the only fsync) run on a thread, never inside a commit on the loop.
        await conn.execute("PRAGMA wal_autocheckpoint=0")
        self = cls(conn, Checkpointer(str(path)), locks)
        await self.migrate()
        self._checkpointer.start()
        return self

    def _cross_process(self, slot: int) -> contextlib.AbstractAsyncContextManager[None]:
        # As long as another process's migrations take: start-up has nothing better to do.
        return self._locks.hold_slot(slot, limit_s=MIGRATION_WAIT_S) if self._locks else _NOTHING

    def _writer(self) -> contextlib.AbstractContextManager[None]:
        """The one writer among the processes sharing the file (`FileLocks.writer`)."""
        return self._locks.writer() if self._locks else _NOTHING

    def session_lock(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
        """One session's hops one at a time across the processes sharing the file (within a
        process, the caller's own per-key lock already orders them)."""
        return self._locks.hold(key) if self._locks else _NOTHING

    async def migrate(self) -> int:
        # Read and applied under the migration lock, so two processes starting together never
        # both apply one version.
        async with self._cross_process(MIGRATION_SLOT), self._lock:
            row = await (await self._conn.execute("PRAGMA user_version")).fetchone()
            current = int(row[0]) if row else 0
            for version, name, sql in migration_scripts("sqlite"):
                if version <= current:
                    continue
                log.info("applying migration %s", name)
                with self._writer():  # in turn with the workers already serving, not after them
                    await self._conn.executescript(
                        f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={version};\nCOMMIT;"
                    )
                current = version
            return current

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._lock:
            with self._writer():
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    await self._conn.execute("COMMIT")
                except BaseException:
                    # A failed COMMIT may leave the transaction open, holding SQLite's write lock
                    # with the writer byte released: close it here, or no process could write.
                    if self._conn.raw.in_transaction:
                        await self._conn.execute("ROLLBACK")
                    raise

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        async with self._lock:
            yield self._conn

    async def fetch_tuples(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Every row of a single-statement read, as plain tuples (read by position). With no
        transaction open (the lock free), it runs at once: nothing can interleave with a
        statement that never yields. Every row is fetched: a statement left unfinished on the
        kept cursor would hold its read transaction open."""
        if not self._lock.locked():
            rows: list[tuple[Any, ...]] = self._tuples.execute(sql, params).fetchall()
            return rows
        async with self._lock:
            found: list[tuple[Any, ...]] = self._tuples.execute(sql, params).fetchall()
            return found

    async def ping(self) -> bool:
        async with self.reading() as conn:
            await conn.execute("SELECT 1")
        return True

    async def counts(self) -> dict[str, int]:
        async with self.reading() as conn:
            cur = await conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status")
            found = {f"outbox_{row[0]}": int(row[1]) for row in await cur.fetchall()}
            cur = await conn.execute("SELECT COUNT(*) FROM ussd_sessions WHERE status = 'active'")
            row = await cur.fetchone()
        found["sessions_active"] = int(row[0]) if row is not None else 0
        return found

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()
        await self._checkpointer.stop()
        if self._locks is not None:
            self._locks.close()
