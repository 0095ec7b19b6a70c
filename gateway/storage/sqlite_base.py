"""The SQLite connection: WAL, a busy timeout, versioned migrations, short serialised transactions.

One connection serves the process, driven from the loop (`sqlite_conn`). Every public storage
call takes the lock, so a coroutine never reads another one's half-finished transaction; each
write path is one short `BEGIN IMMEDIATE … COMMIT`. SQLite is the one-process deployment: many
processes share PostgreSQL instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Self

from gateway.storage.common import migration_scripts
from gateway.storage.sqlite_conn import Checkpointer, Connection

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


class SqliteBase:
    def __init__(self, conn: Connection, checkpointer: Checkpointer) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._checkpointer = checkpointer

    @classmethod
    async def open(cls, path: Path | str) -> Self:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = Connection.open(str(path))
        # WAL lets readers run beside the writer; NORMAL sync in WAL is durable across a process
        # crash (a power cut may lose the last commits, never corrupt the file).
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys=ON")
        # Checkpoints (the only fsync) run on a thread, never inside a commit on the loop.
        await conn.execute("PRAGMA wal_autocheckpoint=0")
        self = cls(conn, Checkpointer(str(path)))
        await self.migrate()
        self._checkpointer.start()
        return self

    async def migrate(self) -> int:
        async with self._lock:
            row = await (await self._conn.execute("PRAGMA user_version")).fetchone()
            current = int(row[0]) if row else 0
            for version, name, sql in migration_scripts("sqlite"):
                if version <= current:
                    continue
                log.info("applying migration %s", name)
                await self._conn.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={version};\nCOMMIT;"
                )
                current = version
            return current

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        async with self._lock:
            yield self._conn

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
