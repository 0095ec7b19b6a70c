"""The small connection interface every store is written against, once for both backends.

A store writes its SQL once, with `?` placeholders, in the SQL that SQLite and PostgreSQL both
speak (`ON CONFLICT … DO UPDATE`, `RETURNING`, row values, `UPDATE … WHERE id IN (SELECT …)`). What
truly differs lives behind this interface, in `sqlite/` and `postgres/`: how a transaction starts
and who may write, placeholders (`?` or `$n`), row locks (`FOR UPDATE SKIP LOCKED`, and an advisory
lock where a rule spans rows that may not exist yet), the per-session hop lock, migrations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar
from typing import Any, Generic, Protocol, TypeVar

Row = Sequence[Any]
U = TypeVar("U", bound="HasDb")


class HasDb(Protocol):
    @property
    def db(self) -> object: ...


class UnitSlot(Generic[U]):
    """Where a backend keeps the unit of work its task is inside: per task (a context variable),
    so concurrent requests never share one, and per database, so a unit on one database is not
    mistaken for a unit on another."""

    def __init__(self, name: str) -> None:
        self._var: ContextVar[U | None] = ContextVar(name, default=None)

    def current(self, db: object) -> U | None:
        unit = self._var.get()
        return unit if unit is not None and unit.db is db else None

    @contextmanager
    def entered(self, unit: U) -> Iterator[U]:
        token = self._var.set(unit)
        try:
            yield unit
        finally:
            self._var.reset(token)


class Tx(Protocol):
    """One connection inside a transaction (or, from `Database.reading`, in autocommit)."""

    async def execute(self, sql: str, *args: Any) -> int:
        """Runs one statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int | None:
        """Runs one statement per row; the rows changed in all, or None where the driver does not
        count them (asyncpg)."""
        ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Every row, each read by position."""
        ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...

    async def fetch_dicts(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Every row as a dict by column name (for the API and the tests)."""
        ...

    async def lock(self, *keys: str) -> None:
        """Serialises this transaction with every other that locks one of `keys`, until it ends:
        a rule that spans rows which may not exist yet (two filings counting one number's open
        complaints). SQLite has one writer at a time already, so there it costs nothing."""
        ...


class Database(Protocol):
    # `… FOR UPDATE SKIP LOCKED` on PostgreSQL, where dispatchers in many processes claim rows
    # side by side; nothing on SQLite, whose one writer claims alone.
    skip_locked: str
    # Whether `Tx.executemany` reports the rows it changed.
    counts_many: bool
    # A session's state goes in as text (PostgreSQL's text column) rather than as the UTF-8
    # bytes SQLite keeps as they are.
    state_as_text: bool

    def transaction(self, *, savepoint: bool = True) -> AbstractAsyncContextManager[Tx]:
        """A short write transaction; raises `sessions.ports.Busy` when the database's writer, or
        a lock, was held elsewhere past its limit. Inside a unit of work it is a savepoint, so a
        write that fails undoes only itself; `savepoint=False` is for a block that can leave
        nothing half-written whenever it fails (a single statement, atomic by itself, or
        statements each of which stands on its own), which on SQLite then joins the unit as it
        is. PostgreSQL keeps the savepoint: a statement that fails there ends the transaction."""
        ...

    def unit(self) -> AbstractAsyncContextManager[None]:
        """A unit of work for the calling task: every write inside it, through any store,
        commits together or not at all (each write a savepoint of its own, so one that fails
        undoes only itself). Its transaction begins at its first write. Inside one, a second is
        the same unit."""
        ...

    async def settled(self) -> None:
        """Returns once the units let through so far are committed; raises what their commit
        raised. SQLite group-commits them after the turn of the loop that ran them; on
        PostgreSQL each unit is committed before it is let through."""
        ...

    async def write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement over every row, all or none, outside any unit of work: on PostgreSQL
        one round trip (asyncpg's `executemany` sends every row before one Sync, and the server
        runs them as one implicit transaction), where BEGIN and COMMIT around it made three."""
        ...

    def reading(self) -> AbstractAsyncContextManager[Tx]:
        """A connection for reads (and single-statement writes, atomic on their own)."""
        ...

    async def fetch_tuples(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """A single-statement read as plain tuples: the reads of every USSD hop."""
        ...

    def session_lock(
        self, key: str, read: str, params: Sequence[Any]
    ) -> AbstractAsyncContextManager[list[tuple[Any, ...]]]:
        """Held around one hop of a USSD session across every process on this database; yields
        the rows of `read` (`fetch_tuples`), run once the lock is held (on PostgreSQL in the same
        round trip as the lock)."""
        ...

    async def close(self) -> None: ...
