"""A SQLite connection driven from the event loop, behind the stores' `Tx` interface.

Measured (bench/RESULTS.md): one hop's SQL costs 25–36 µs when run directly, against 200–930 µs
when every statement is handed to a worker thread and back, which also serialises all hops
behind the hand-offs. WAL makes a commit a write to the log without an fsync, so these calls
are short enough to run on the loop; the slow steps, the checkpoints that fsync and truncate the
log, run on a thread of their own (`WalKeeper`).

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
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from gateway.storage.database import Row

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 5.0


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


class WalKeeper:
    """Keeps the WAL short, on a thread, so the fsync never stalls the loop.

    Every `every_s` a PASSIVE checkpoint copies the log back into the database; it never waits for
    the writer nor blocks it. Under steady load some reader is always inside the log, so SQLite
    never starts it again from the top and it would only grow (hundreds of MB in a minute). So when
    the log has grown past `restart_at` bytes, a RESTART checkpoint follows while `hold_writers`
    holds every writer of every process off (their turn comes after it, and few frames are left to
    copy after the PASSIVE one): the next write starts the log from the top again, and
    `journal_size_limit` cuts what is left on disk.

    The log's size is looked at every `watch_s` (a stat, a few microseconds), and a round runs as
    soon as it passes `restart_at`, not only every `every_s`: inbound SMS under load write 100 MB
    of log a second (a message's row, its limits and its reply touch a dozen pages), which a round
    a second let grow to 200 MB. The WAL stays near `restart_at` plus the writes of a round."""

    def __init__(
        self,
        path: str,
        hold_writers: Callable[[], AbstractAsyncContextManager[None]],
        every_s: float = 1.0,
        restart_at: int = 8 * 1024 * 1024,
        watch_s: float = 0.05,
    ) -> None:
        self._path = path
        self._hold_writers = hold_writers
        self._every_s = every_s
        self._restart_at = restart_at
        self._watch_s = watch_s
        self._task: asyncio.Task[None] | None = None
        self.restarts = 0
        self.largest = 0  # the largest WAL seen, in bytes

    def size(self) -> int:
        """The WAL file's size in bytes."""
        try:
            return os.stat(f"{self._path}-wal").st_size
        except FileNotFoundError:
            return 0

    def checkpoint(self, mode: str = "PASSIVE") -> int:
        """Runs one checkpoint; the WAL's size after it, in bytes."""
        conn = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_S)
        try:
            conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        finally:
            conn.close()
        return self.size()

    async def keep(self) -> None:
        """One round: PASSIVE, then RESTART with the writers held off if the log is long."""
        self.largest = max(self.largest, self.size())
        size = await asyncio.to_thread(self.checkpoint, "PASSIVE")
        self.largest = max(self.largest, size)
        if size <= self._restart_at:
            return
        async with self._hold_writers():
            await asyncio.to_thread(self.checkpoint, "RESTART")
        self.restarts += 1

    async def _loop(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self._watch_s)
            if self.size() <= self._restart_at and time.monotonic() - last < self._every_s:
                continue
            last = time.monotonic()
            try:
                await self.keep()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    log.exception("WAL checkpoint failed")
            except Exception:
                log.exception("WAL checkpoint failed")

    def start(self) -> None:
        if self._path != ":memory:" and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="wal-keeper")

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
