"""The per-session hop locks on PostgreSQL: a session advisory lock and the hop's first read, in
one round trip, on connections kept for them alone.

A hop holds its session's lock from its first read to its row's commit. Taking the lock, then
reading, then unlocking as the connection went back cost three round trips and two pool
operations a hop; here the lock and the read are one call of a function of the connection's own
(`pg_temp`), made the first time a link runs that read, and the unlock is the only other round
trip. The function is VOLATILE, so the read inside it takes its snapshot after the lock is
granted and sees what the lock's last holder committed (STABLE would read the snapshot of the
call, taken before the wait).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

UNLOCK = "SELECT pg_advisory_unlock_all()"
_MARK = re.compile(r"\?")


def numbered(sql: str, first: int = 1) -> str:
    """The statement with `$first, $first+1, …` for its `?` marks (no statement here has a `?`
    in a literal)."""
    count = iter(range(first, 1_000_000))
    return _MARK.sub(lambda _: f"${next(count)}", sql)


class Link:
    """One lock connection and the locked reads it has a function for (read -> call)."""

    __slots__ = ("conn", "reads")

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.reads: dict[str, str] = {}


def _type(of: Any) -> str:
    return f"{of.schema}.{of.name}"


async def _function_for(link: Link, read: str) -> str:
    """The call that locks its first argument's key, then runs `read` with the others; the
    function is created on this connection once (a temporary function lives with its session)."""
    call = link.reads.get(read)
    if call is not None:
        return call
    body = numbered(read, 2)
    statement = await link.conn.prepare(numbered(read))
    params = ", ".join(["text", *(_type(p) for p in statement.get_parameters())])
    # Output columns named apart from every table column: PL/pgSQL would take a column name in
    # the query for the output variable of the same name.
    columns = ", ".join(
        f"dargah_c{i} {_type(a.type)}" for i, a in enumerate(statement.get_attributes())
    )
    name = f"pg_temp.dargah_locked_read_{len(link.reads)}"
    await link.conn.execute(
        f"CREATE FUNCTION {name}({params}) RETURNS TABLE ({columns}) LANGUAGE plpgsql VOLATILE "
        "AS $fn$ BEGIN PERFORM pg_advisory_lock(hashtextextended($1, 0)); "
        f"RETURN QUERY {body}; END $fn$"
    )
    arguments = ", ".join(f"${i}" for i in range(1, len(statement.get_parameters()) + 2))
    call = f"SELECT * FROM {name}({arguments})"
    link.reads[read] = call
    return call


async def locked_read(
    link: Link, lock: str, read: str, params: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """Waits for the advisory lock on `lock` (up to the connection's `lock_timeout`), then runs
    `read`: one round trip once the link knows the read."""
    call = await _function_for(link, read)
    return [tuple(row) for row in await link.conn.fetch(call, lock, *params)]


class LockLinks:
    """At most `size` lock connections, reused newest first (a warm one's functions are made).

    Waiting for a free one is bounded by `wait_s` (then `TimeoutError`); a link goes back
    unlocked, and one that cannot be unlocked, or whose hop was cancelled mid-call, is closed,
    which releases whatever it held."""

    def __init__(self, connect: Callable[[], Awaitable[Any]], size: int, wait_s: float) -> None:
        self._connect = connect
        self._free = asyncio.Semaphore(size)
        self._wait_s = wait_s
        self._idle: list[Link] = []
        self._busy: set[Link] = set()
        self._closed = False

    async def acquire(self) -> Link:
        if self._free.locked():  # the timer only when there is a wait
            async with asyncio.timeout(self._wait_s):
                await self._free.acquire()
        else:
            await self._free.acquire()
        try:
            link = self._idle.pop() if self._idle else Link(await self._connect())
        except BaseException:
            self._free.release()
            raise
        self._busy.add(link)
        return link

    async def release(self, link: Link, *, clean: bool = True) -> None:
        """Unlocks and keeps the link; `clean=False` (its call was cut off) closes it instead."""
        self._busy.discard(link)
        try:
            if clean and not self._closed and not link.conn.is_closed():
                try:
                    await link.conn.execute(UNLOCK)
                except asyncio.CancelledError:
                    link.conn.terminate()
                    raise
                except Exception as exc:
                    log.warning("a session lock connection failed to unlock: %s", exc)
                else:
                    self._idle.append(link)
                    return
            link.conn.terminate()
        finally:
            self._free.release()

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(link.conn.close() for link in idle), return_exceptions=True)
        for link in self._busy:
            link.conn.terminate()
