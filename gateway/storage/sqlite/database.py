"""The SQLite database: WAL, versioned migrations, short serialised transactions.

One connection serves the process, driven from the loop (`connection`). Every transaction takes
the process's lock, so a coroutine never reads another one's half-finished transaction; each write
is one short `BEGIN IMMEDIATE … COMMIT`, except units of work, which share one per turn of the
loop (`_Group`: inbound SMS at 3,300 a second where one COMMIT each gave 2,800). Several
processes of one machine may share the file (`GATEWAY_WORKERS`): WAL lets them read beside the
one writer, a byte of the lock file beside the database (`file_locks`) picks that writer, and
other bytes serialise one session's hops and the migrations across them. Many machines share
PostgreSQL instead.

The file, its WAL and its lock file are created readable by the gateway's user alone (0600): they
hold personal data.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

from gateway.storage.database import UnitSlot
from gateway.storage.migrations import migration_scripts
from gateway.storage.sqlite.connection import SqliteTx, WalKeeper, connect
from gateway.storage.sqlite.file_locks import LOCK_SUFFIX, MIGRATION_SLOT, FileLocks
from sessions.ports import Busy

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
MIGRATION_WAIT_S = 600.0
# What a log restarted after a checkpoint may leave on disk.
JOURNAL_SIZE_LIMIT = 32 * 1024 * 1024
_NOTHING: contextlib.nullcontext[None] = contextlib.nullcontext()

Synchronous = Literal["normal", "full"]

# The column types no SQL spells alike in both databases.
TYPES = {
    "{identity}": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "{bytes}": "BLOB",
}


@dataclass
class _Unit:
    """A unit of work of this task: every write inside it commits together, or none. It begins
    at its first write, so the reads before it wait for no one: a savepoint of its own inside
    the group's transaction (`_Group`)."""

    db: SqliteDatabase
    savepoint: str | None = None

    @property
    def open(self) -> bool:
        return self.savepoint is not None


@dataclass
class _Group:
    """Units of work that ran one after another during one turn of the event loop, sharing one
    transaction and one COMMIT (group commit, as the session rows have): an inbound SMS's unit
    dirties a dozen pages (its row, its limits, its reply in the outbox and its indexes), the
    same pages as the next one's, so the log gets them once a group instead of once a message.
    Each unit is a savepoint, so one that fails undoes only itself; each unit's caller waits for
    the group's COMMIT, so nothing is answered before it is committed. Reads on this connection
    meanwhile see whole units only, never half of one; a write outside a unit commits the group
    first."""

    writer: contextlib.AbstractContextManager[None]
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    commit: asyncio.Task[None] | None = None


_UNITS: UnitSlot[_Unit] = UnitSlot("dargah_sqlite_unit")


def _create_private(path: str) -> None:
    """The database file 0600, new or not (SQLite gives its WAL and shared-memory files the
    database file's own mode when it makes them; a file an earlier version made is narrowed)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    for name in (path, f"{path}-wal", f"{path}-shm"):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            os.chmod(name, 0o600)


class SqliteDatabase:
    skip_locked = ""
    counts_many = True
    state_as_text = False

    def __init__(self, raw: sqlite3.Connection, path: str, locks: FileLocks | None = None) -> None:
        self.tx = SqliteTx(raw)
        self._lock = asyncio.Lock()
        self.wal = WalKeeper(path, self._writers_held)
        self._locks = locks  # None for `:memory:`, which no other process can open
        self._cursor = raw.cursor()  # kept for the hop's reads: one cursor less to make a read
        self._group: _Group | None = None  # the units' transaction, open until its COMMIT

    @property
    def raw(self) -> sqlite3.Connection:
        return self.tx.raw

    @classmethod
    async def open(cls, path: Path | str, synchronous: Synchronous = "normal") -> Self:
        memory = str(path) == ":memory:"
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _create_private(str(path))
        raw = connect(str(path))
        locks = None if memory else FileLocks(f"{path}{LOCK_SUFFIX}")
        # WAL lets readers run beside the writer. Switched under the migration byte: processes
        # switching a new file at once can deadlock in SQLite's lock upgrade, which answers one of
        # them "database is locked" without waiting.
        if locks is None:
            raw.execute("PRAGMA journal_mode=WAL")
        else:
            async with locks.hold_slot(MIGRATION_SLOT, limit_s=MIGRATION_WAIT_S):
                raw.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL: a commit survives a crash of the process; a power cut may lose what was
        # committed since the last checkpoint (about a second), never corrupt the file. FULL
        # fsyncs every commit (GATEWAY_SQLITE_SYNCHRONOUS=full; the README prices it).
        raw.execute(f"PRAGMA synchronous={synchronous.upper()}")
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        raw.execute("PRAGMA foreign_keys=ON")
        # The savepoints' sub-journals (a unit's pages, copied before its writes) in memory:
        # they matter only while their transaction is open, never after a crash.
        raw.execute("PRAGMA temp_store=MEMORY")
        raw.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        # Checkpoints (the fsync) run on a thread, never inside a commit on the loop.
        raw.execute("PRAGMA wal_autocheckpoint=0")
        self = cls(raw, str(path), locks)
        await self.migrate()
        self.wal.start()
        return self

    def _cross_process(self, slot: int) -> contextlib.AbstractAsyncContextManager[None]:
        # As long as another process's migrations take: start-up has nothing better to do.
        return self._locks.hold_slot(slot, limit_s=MIGRATION_WAIT_S) if self._locks else _NOTHING

    def _writer(self) -> contextlib.AbstractContextManager[None]:
        """The one writer among the processes sharing the file (`FileLocks.writer`)."""
        return self._locks.writer() if self._locks else _NOTHING

    @asynccontextmanager
    async def _writers_held(self) -> AsyncIterator[None]:
        """Every writer of this process (the lock) and of the others (the writer byte) waits."""
        async with self._lock:
            self._commit_group()
            with self._writer():
                yield

    @asynccontextmanager
    async def session_lock(
        self, key: str, read: str, params: Sequence[Any]
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """One session's hops one at a time across the processes sharing the file (within a
        process, the caller's own per-key lock already orders them)."""
        if self._locks is None:
            yield await self.fetch_tuples(read, params)
            return
        async with self._locks.hold(key):
            yield await self.fetch_tuples(read, params)

    async def migrate(self) -> int:
        # Read and applied under the migration lock, so two processes starting together never
        # both apply one version.
        async with self._cross_process(MIGRATION_SLOT), self._lock:
            row = self.raw.execute("PRAGMA user_version").fetchone()
            current = int(row[0]) if row else 0
            for version, name, sql in migration_scripts(TYPES):
                if version <= current:
                    continue
                log.info("applying migration %s", name)
                with self._writer():  # in turn with the workers already serving, not after them
                    self.raw.executescript(
                        f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={version};\nCOMMIT;"
                    )
                current = version
            return current

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[None]:
        if _UNITS.current(self) is not None:  # already inside one: it is the same unit
            yield
            return
        with _UNITS.entered(_Unit(self)) as unit:
            try:
                yield
            except BaseException:
                if unit.open:
                    self._undo_unit(unit)
                raise
            if unit.open:
                await self._end_unit(unit)

    async def _begin_unit(self, unit: _Unit) -> None:
        """The unit's savepoint, in the open group or in a new one; this task holds the lock
        until the unit ends."""
        await self._lock.acquire()
        try:
            if self._group is None:
                self._group = self._open_group()
            # One name for every unit and one for every write (below): their SQL is compiled
            # once, not per savepoint; a name reaches its innermost savepoint, and these nest.
            name = "unit"
            self._control(f"SAVEPOINT {name}")
        except BaseException:
            self._lock.release()
            raise
        unit.savepoint = name

    def _open_group(self) -> _Group:
        writer = self._writer()
        writer.__enter__()
        try:
            self._control("BEGIN IMMEDIATE")
        except BaseException as exc:
            writer.__exit__(None, None, None)
            if isinstance(exc, sqlite3.OperationalError) and (
                "locked" in str(exc) or "busy" in str(exc)
            ):
                raise Busy(f"the database's writer was held too long: {exc}") from None
            raise
        group = _Group(writer)
        # Its COMMIT at the loop's next turn, after the units that run in this one; in a context
        # of its own, as it belongs to no caller's unit.
        group.commit = asyncio.get_running_loop().create_task(
            self._commit_later(group), context=contextvars.Context()
        )
        return group

    async def _end_unit(self, unit: _Unit) -> None:
        """The unit's savepoint released into its group; then its caller waits for the group's
        COMMIT."""
        group = self._group
        assert group is not None
        assert unit.savepoint is not None
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            self._control(f"RELEASE {unit.savepoint}")
            group.waiters.append(done)
        except BaseException:
            self._undo_unit(unit)
            raise
        unit.savepoint = None
        self._lock.release()
        await done

    async def settled(self) -> None:
        group = self._group
        if group is None:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        group.waiters.append(done)
        await done

    def _undo_unit(self, unit: _Unit) -> None:
        """Only this unit's writes undone; the lock released. Should SQLite have rolled the whole
        transaction back itself (an I/O error, a full disk), the group's other units fail too."""
        try:
            if self.raw.in_transaction:
                self._control(f"ROLLBACK TO {unit.savepoint}")
                self._control(f"RELEASE {unit.savepoint}")
            else:
                self._fail_group(RuntimeError("the transaction was rolled back by SQLite"))
        except BaseException as exc:
            self._fail_group(exc)
            raise
        finally:
            unit.savepoint = None
            self._lock.release()

    async def _commit_later(self, group: _Group) -> None:
        async with self._lock:
            if self._group is group:
                self._commit_group()

    def _commit_group(self) -> None:
        """COMMITs the open group, if any (the caller holds the lock): its waiters learn the
        outcome."""
        group = self._group
        if group is None:
            return
        try:
            self._control("COMMIT")
        except BaseException as exc:
            self._fail_group(exc)
            return
        self._group = None
        group.writer.__exit__(None, None, None)
        for done in group.waiters:
            if not done.done():
                done.set_result(None)

    def _fail_group(self, exc: BaseException) -> None:
        """The group rolled back, its waiters told why."""
        group, self._group = self._group, None
        if group is None:
            return
        try:
            if self.raw.in_transaction:
                self._control("ROLLBACK")
        finally:
            group.writer.__exit__(None, None, None)
            for done in group.waiters:
                if not done.done():
                    done.set_exception(exc)

    @asynccontextmanager
    async def _savepoint(self, unit: _Unit) -> AsyncIterator[SqliteTx]:
        """A write inside a unit: its own savepoint, so one that fails (a full limit, a taken
        key) undoes only itself, as its own transaction would have."""
        if not unit.open:
            await self._begin_unit(unit)
        name = "write"
        self._control(f"SAVEPOINT {name}")
        try:
            yield self.tx
        except BaseException:
            self._control(f"ROLLBACK TO {name}")
            self._control(f"RELEASE {name}")
            raise
        self._control(f"RELEASE {name}")

    @asynccontextmanager
    async def transaction(self, *, savepoint: bool = True) -> AsyncIterator[SqliteTx]:
        unit = _UNITS.current(self)
        if unit is not None and savepoint:
            async with self._savepoint(unit) as tx:
                yield tx
            return
        if unit is not None:
            # No savepoint: its caller promises that, should it fail, nothing of it is left
            # half-written (a statement that fails has written nothing).
            if not unit.open:
                await self._begin_unit(unit)
            yield self.tx
            return
        async with self._lock:
            self._commit_group()
            raw = self.raw
            try:
                with self._writer():
                    self._control("BEGIN IMMEDIATE")
                    try:
                        yield self.tx
                        self._control("COMMIT")
                    except BaseException:
                        # A failed COMMIT may leave the transaction open, holding SQLite's write
                        # lock with the writer byte released: close it here, or no process could
                        # write.
                        if raw.in_transaction:
                            self._control("ROLLBACK")
                        raise
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise Busy(f"the database's writer was held too long: {exc}") from None
                raise

    async def write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    def _control(self, sql: str) -> None:
        self.raw.execute(sql)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqliteTx]:
        unit = _UNITS.current(self)
        if unit is not None and unit.open:  # this task holds the connection: read in its unit
            yield self.tx
            return
        async with self._lock:
            yield self.tx

    async def fetch_tuples(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Every row of a single-statement read, as plain tuples (read by position). With no
        transaction open (the lock free), it runs at once: nothing can interleave with a
        statement that never yields. Every row is fetched: a statement left unfinished would hold
        its read transaction open."""
        if not self._lock.locked():
            rows: list[tuple[Any, ...]] = self._cursor.execute(sql, params).fetchall()
            return rows
        unit = _UNITS.current(self)
        if unit is not None and unit.open:  # this task holds the connection
            held: list[tuple[Any, ...]] = self._cursor.execute(sql, params).fetchall()
            return held
        async with self._lock:
            found: list[tuple[Any, ...]] = self._cursor.execute(sql, params).fetchall()
            return found

    async def close(self) -> None:
        async with self._lock:
            self._commit_group()
            self.raw.close()
        await self.wal.stop()
        if self._locks is not None:
            self._locks.close()
