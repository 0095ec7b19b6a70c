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
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

from gateway.storage.postgres.spelling import numbered

log = logging.getLogger(__name__)

UNLOCK = "SELECT pg_advisory_unlock_all()"


class Link:
    """One lock connection and the locked reads it has a call for (read -> call; "" where the
    role may not create a temporary function, and the lock and the read go one after the
    other)."""

    __slots__ = ("conn", "reads", "reused")

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.reads: dict[str, str] = {}
        self.reused = False  # it waited idle: the server or the network may have ended it since


def _type(of: Any) -> str:
    return f"{of.schema}.{of.name}"


async def _function_for(link: Link, read: str) -> str:
    """The call that locks its first argument's key, then runs `read` with the others; the
    function is created on this connection once (a temporary function lives with its session).
    "" when the role lacks the TEMPORARY privilege (a hardened database)."""
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
    # Named by the read, and replaced if there: a hop cut off after the server made it, before
    # `reads` knew, leaves it behind on a connection that is kept.
    name = f"pg_temp.dargah_locked_read_{hashlib.sha256(read.encode()).hexdigest()[:16]}"
    try:
        await link.conn.execute(
            f"CREATE OR REPLACE FUNCTION {name}({params}) RETURNS TABLE ({columns}) "
            "LANGUAGE plpgsql VOLATILE AS $fn$ BEGIN "
            "PERFORM pg_advisory_lock(hashtextextended($1, 0)); "
            f"RETURN QUERY {body}; END $fn$"
        )
    except asyncpg.InsufficientPrivilegeError:
        log.warning(
            "no TEMPORARY privilege: a hop's session lock and first read take two round trips"
        )
        link.reads[read] = ""
        return ""
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
    if not call:
        await link.conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", lock)
        return [tuple(row) for row in await link.conn.fetch(numbered(read), *params)]
    return [tuple(row) for row in await link.conn.fetch(call, lock, *params)]


class LockLinks:
    """At most `size` lock connections, reused newest first (a warm one's functions are made).

    Waiting for a free one is bounded by `wait_s` (then `TimeoutError`); a link goes back
    unlocked, and one that cannot be unlocked is closed, which releases whatever it held. A hop
    cut off mid-call leaves asyncpg cancelling its statement on the server; the unlock waits for
    that, so no backend stays queued on a lock for a client that is gone."""

    def __init__(self, connect: Callable[[], Awaitable[Any]], size: int, wait_s: float) -> None:
        self._connect = connect
        self._free = asyncio.Semaphore(size)
        self._wait_s = wait_s
        self._idle: list[Link] = []
        self._busy: set[Link] = set()
        self._closed = False
        self._all_back = asyncio.Event()

    async def acquire(self) -> Link:
        if self._closed:
            raise asyncpg.InterfaceError("the session lock connections are closed")
        if self._free.locked():  # the timer only when there is a wait
            async with asyncio.timeout(self._wait_s):
                await self._free.acquire()
        else:
            await self._free.acquire()
        try:
            link = self._idle_link() or Link(await self._connect())
        except BaseException:
            self._free.release()
            raise
        self._busy.add(link)
        return link

    def _idle_link(self) -> Link | None:
        while self._idle:
            link = self._idle.pop()
            if not link.conn.is_closed():  # not ended by the server while it waited here
                link.reused = True
                return link
            link.conn.terminate()
        return None

    async def release(self, link: Link) -> None:
        """Unlocks and keeps the link, or closes it."""
        try:
            if not self._closed and not link.conn.is_closed():
                try:  # bounded by the connection's command timeout
                    await link.conn.execute(UNLOCK)
                except asyncio.CancelledError:
                    link.conn.terminate()
                    raise
                except Exception as exc:
                    log.warning("a session lock connection failed to unlock: %s", exc)
                else:
                    if not self._closed:
                        self._idle.append(link)
                        return
            link.conn.terminate()
        finally:
            self._busy.discard(link)
            self._free.release()
            if self._closed and not self._busy:
                self._all_back.set()

    async def close(self) -> None:
        """Closes the idle links now and the others as their hops end (or after `wait_s`)."""
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(link.conn.close() for link in idle), return_exceptions=True)
        if self._busy:
            try:
                async with asyncio.timeout(self._wait_s):
                    await self._all_back.wait()
            except TimeoutError:
                for link in self._busy:
                    link.conn.terminate()
