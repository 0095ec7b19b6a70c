"""A SQLite connection driven from the event loop.

Measured (bench/RESULTS.md): one hop's SQL costs 25–36 µs when run directly, against 200–930 µs
when every statement is handed to a worker thread and back, which also serialises all hops
behind the hand-offs. WAL makes a commit a write to the log without an fsync, so these calls
are short enough to run on the loop; the one slow step, the checkpoint that fsyncs, runs on a
thread of its own (`Checkpointer`). The interface is the small subset of aiosqlite's that the
storage mixins use, so they read the same either way.

Several processes (workers) may share the file. A write waiting for another process's write lock
blocks this loop (`file_locks.FileLocks.writer`, then SQLite's busy handler as the backstop) but
hands the core to the process holding the lock, so it finishes sooner: with 2 workers on 2 cores
that measured 8,100 hops/s against 5,700 when the wait was an `asyncio.sleep` between retries on
the loop, where the holder, descheduled mid-commit, kept the lock longer. Every write transaction
is short by design.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Row = sqlite3.Row
BUSY_TIMEOUT_S = 5.0
CHECKPOINT_EVERY_S = 1.0


class Cursor:
    __slots__ = ("_cur",)

    def __init__(self, cur: sqlite3.Cursor) -> None:
        self._cur = cur

    async def fetchone(self) -> Row | None:
        row: Row | None = self._cur.fetchone()
        return row

    async def fetchall(self) -> list[Row]:
        return self._cur.fetchall()

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cur.lastrowid


class Connection:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, path: str) -> Connection:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        conn.row_factory = sqlite3.Row
        return cls(conn)

    @property
    def raw(self) -> sqlite3.Connection:
        """The sqlite3 connection itself, for a read that must not yield."""
        return self._conn

    async def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Cursor:
        return Cursor(self._conn.execute(sql, params))

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> Cursor:
        return Cursor(self._conn.executemany(sql, params))

    async def executescript(self, sql: str) -> None:
        self._conn.executescript(sql)

    async def close(self) -> None:
        self._conn.close()


class Checkpointer:
    """Copies the WAL back into the database file on a thread, so the fsync never stalls the
    loop; PASSIVE never waits for, nor blocks, the writer."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._task: asyncio.Task[None] | None = None

    def _checkpoint(self) -> None:
        conn = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_S)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY_S)
            try:
                await asyncio.to_thread(self._checkpoint)
            except sqlite3.Error:
                log.exception("WAL checkpoint failed")

    def start(self) -> None:
        if self._path != ":memory:" and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="wal-checkpoint")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._path != ":memory:":
            await asyncio.to_thread(self._final_checkpoint)

    def _final_checkpoint(self) -> None:
        if Path(self._path).exists():
            self._checkpoint()
