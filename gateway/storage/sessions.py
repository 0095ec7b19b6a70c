"""USSD session rows, written by group commit on both databases.

Every hop's answer waits for the commit of its session row, so an answered screen is durable.
Hops that arrive together share one transaction: the writes queued during one turn of the event
loop are committed by one COMMIT, new sessions' rows by one `executemany` and later hops' by
another, which costs a fraction of a commit each (on PostgreSQL, one round trip of commits for
many hops instead of one each). A key is in a group once at most: its hop holds the session's lock
until its row commits.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from gateway.storage.database import Database
from gateway.storage.rows import (
    SESSION_COLUMNS,
    encode_state_utf8,
    opened_from_rows,
    session_from_row,
)
from sessions.ports import OpenedSession, StoredSession

_UPSERT = (
    f"INSERT INTO ussd_sessions ({SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, status = excluded.status, "
    "last_hop_key = excluded.last_hop_key, last_reply_text = excluded.last_reply_text, "
    "last_reply_end = excluded.last_reply_end, updated_at = excluded.updated_at"
)
_UPDATE = (
    "UPDATE ussd_sessions SET state = ?, status = ?, last_hop_key = ?, last_reply_text = ?, "
    "last_reply_end = ?, updated_at = ? WHERE key = ?"
)
_GET = f"SELECT {SESSION_COLUMNS} FROM ussd_sessions WHERE key = ?"
# The caller's few rows by the caller's index, then sorted. Ordered by `updated_at + 0` so that no
# planner walks the whole `updated_at` index backwards looking for this caller: PostgreSQL did
# (11 ms with 25,000 sessions, before its statistics caught up), where this takes 0.07 ms; an index
# on (msisdn, updated_at) would do too, but every hop would rewrite it.
_LATEST_OPEN = (
    f"SELECT {SESSION_COLUMNS} FROM ussd_sessions WHERE msisdn = ? AND updated_at >= ? "
    "AND status != 'ended' ORDER BY updated_at + 0 DESC LIMIT 1"
)
# What a new session's first hop reads as it takes the lock, in one statement: the session, the
# caller's newest open one and the caller's language (a row with no key; `rows.opened_from_rows`).
# One round trip on PostgreSQL, where it runs inside the call that takes the lock; on SQLite a
# read costs ~3 µs of locking on its own. When the session is stored, the second row may be
# anything; it is not used.
_NULLS = ", ".join(["NULL"] * len(SESSION_COLUMNS.split(",")))
_FIRST_READ = (
    f"SELECT {SESSION_COLUMNS}, NULL AS lang FROM ussd_sessions WHERE key = ? "
    f"UNION ALL SELECT *, NULL FROM ({_LATEST_OPEN}) AS latest "
    f"UNION ALL SELECT {_NULLS}, lang FROM caller_languages WHERE msisdn = ?"
)

_Write = tuple[tuple[Any, ...], "asyncio.Future[None]"]


class SessionRows:
    db: Database

    def __init__(self) -> None:
        self._session_writes: list[_Write] = []
        self._session_commit: asyncio.Task[None] | None = None  # held: the loop keeps weak refs

    async def get_session(self, key: str) -> StoredSession | None:
        rows = await self.db.fetch_tuples(_GET, (key,))
        return session_from_row(rows[0]) if rows else None

    async def latest_open_session(self, msisdn: str, since: float) -> StoredSession | None:
        rows = await self.db.fetch_tuples(_LATEST_OPEN, (msisdn, since))
        return session_from_row(rows[0]) if rows else None

    @asynccontextmanager
    async def locked_session(
        self, key: str, msisdn: str, since: float | None
    ) -> AsyncIterator[OpenedSession]:
        if since is None:
            async with self.db.session_lock(key, _GET, (key,)) as rows:
                yield OpenedSession(session_from_row(rows[0]) if rows else None)
            return
        params = (key, msisdn, since, msisdn)
        async with self.db.session_lock(key, _FIRST_READ, params) as rows:
            yield opened_from_rows(rows, key)

    async def put_session(self, session: StoredSession) -> None:
        encoded = encode_state_utf8(session.state)
        state = encoded.decode("utf-8") if self.db.state_as_text else encoded
        row = (
            session.key,
            session.msisdn,
            state,
            session.status,
            session.last_hop_key,
            session.last_reply_text,
            int(session.last_reply_end),
            session.created_at,
            session.updated_at,
        )
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._session_writes.append((row, done))
        if len(self._session_writes) == 1:  # the turn's first write schedules the commit for all
            # In a context of its own: a commit shared by many hops belongs to no caller's unit
            # of work.
            self._session_commit = loop.create_task(
                self._commit_sessions(), context=contextvars.Context()
            )
        await done

    async def _commit_sessions(self) -> None:
        batch, self._session_writes = self._session_writes, []
        # A session's later hops update its row, which costs less than the upsert's attempt to
        # insert first; a row gone meanwhile (purged) is written again by the upsert. A new
        # session's row is the one whose creation is this hop (created_at == updated_at). Where
        # the driver does not count an `executemany`'s rows, every row is upserted.
        new: list[tuple[Any, ...]] = []
        later: list[tuple[Any, ...]] = []
        counted = self.db.counts_many
        for row, _ in sorted(batch, key=lambda write: write[0][0]):  # one lock order for all
            (new if row[7] == row[8] or not counted else later).append(row)
        try:
            if not counted:  # every row upserted: one statement, one round trip
                await self.db.write_many(_UPSERT, new)
            else:
                async with self.db.transaction() as tx:
                    if new:
                        await tx.executemany(_UPSERT, new)
                    if later:
                        changes = [(*row[2:7], row[8], row[0]) for row in later]
                        if await tx.executemany(_UPDATE, changes) != len(later):
                            await tx.executemany(_UPSERT, later)
        except Exception as exc:
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    async def set_session_status(self, key: str, status: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE ussd_sessions SET status = ? WHERE key = ?", status, key)

    async def purge_sessions(self, updated_before: float) -> int:
        async with self.db.transaction() as tx:
            return await tx.execute(
                "DELETE FROM ussd_sessions WHERE updated_at < ?", updated_before
            )

    async def caller_language(self, msisdn: str) -> str | None:
        # Read on the hop's own connection where it holds one (as the session's rows are).
        rows = await self.db.fetch_tuples(
            "SELECT lang FROM caller_languages WHERE msisdn = ?", (msisdn,)
        )
        return str(rows[0][0]) if rows else None

    async def remember_language(self, msisdn: str, lang: str, now: float) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO caller_languages (msisdn, lang, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (msisdn) DO UPDATE SET lang = excluded.lang, "
                "updated_at = excluded.updated_at",
                msisdn,
                lang,
                now,
            )
