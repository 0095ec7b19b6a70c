"""A SQLite connection driven from the event loop, behind the stores' `Tx` interface.

Measured (bench/RESULTS.md): one hop's SQL costs 25–36 µs when run directly, against 200–930 µs
when every statement is handed to a worker thread and back, which also serialises all hops
behind the hand-offs. WAL makes a commit a write to the log without an fsync, so these calls
are short enough to run on the loop; the slow steps, the checkpoints that fsync and truncate the
log, run on a thread of their own (`Checkpointer`).

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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from gateway.storage.database import Row

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 5.0
TRUNCATE_WAIT_S = 0.05


class SqliteTx:
    """The `Tx` of one sqlite3 connection; `?` placeholders are SQLite's own."""

    __slots__ = ("raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    async def execute(self, sql: str, *args: Any) -> int:
        return self.raw.execute(sql, args).rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int | None:
        return self.raw.executemany(sql, rows).rowcount

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return self.raw.execute(sql, args).fetchall()

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = self.raw.execute(sql, args).fetchone()
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = self.raw.execute(sql, args).fetchone()
        return None if row is None else row[0]

    async def fetch_dicts(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        cur = self.raw.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    async def lock(self, *keys: str) -> None:
        """`BEGIN IMMEDIATE` has made this the one writer already."""


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    conn.row_factory = None  # plain tuples, read by position: a sqlite3.Row costs ~2 µs a row
    return conn


class Checkpointer:
    """Copies the WAL back into the database file on a thread, so the fsync never stalls the loop.

    Every `every_s` a PASSIVE checkpoint, which never waits for nor blocks the writer. Under steady
    load some reader is always inside the log, so SQLite never starts it again from the top and it
    only grows; every `truncate_every` passes a TRUNCATE checkpoint therefore waits for the readers
    to leave it and cuts it to nothing. That wait holds up new writers, so it is allowed only
    `TRUNCATE_WAIT_S`: one that cannot finish in time gives way and the next one tries again.
    (`journal_size_limit` bounds what a restarted log leaves on disk in between.)"""

    def __init__(self, path: str, every_s: float = 1.0, truncate_every: int = 5) -> None:
        self._path = path
        self._every_s = every_s
        self._truncate_every = truncate_every
        self._task: asyncio.Task[None] | None = None

    def checkpoint(self, mode: str = "PASSIVE") -> tuple[int, int, int]:
        """(busy, frames in the log, frames checkpointed), as SQLite reports them."""
        wait = TRUNCATE_WAIT_S if mode == "TRUNCATE" else BUSY_TIMEOUT_S
        conn = sqlite3.connect(self._path, timeout=wait)
        try:
            row = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        finally:
            conn.close()
        return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)

    async def _loop(self) -> None:
        passes = 0
        while True:
            await asyncio.sleep(self._every_s)
            passes += 1
            mode = "TRUNCATE" if passes % self._truncate_every == 0 else "PASSIVE"
            try:
                await asyncio.to_thread(self.checkpoint, mode)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    log.exception("WAL checkpoint (%s) failed", mode)
            except sqlite3.Error:
                log.exception("WAL checkpoint (%s) failed", mode)

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
            await asyncio.to_thread(self._last_checkpoint)

    def _last_checkpoint(self) -> None:
        try:
            if Path(self._path).exists():
                self.checkpoint("PASSIVE")
        except sqlite3.Error:
            log.exception("the last WAL checkpoint failed")
