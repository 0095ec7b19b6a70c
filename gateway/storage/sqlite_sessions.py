"""USSD session rows in SQLite, written by group commit.

Every hop's answer waits for the commit of its session row, so an answered screen is durable.
Hops that arrive together share one transaction: the writes queued during one turn of the event
loop are committed by one `executemany` and one COMMIT, which costs a fraction of a commit each.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.storage.common import encode_state, session_from_row
from gateway.storage.file_locks import FileLocks
from gateway.storage.sqlite_base import SqliteBase
from gateway.storage.sqlite_conn import Checkpointer, Connection
from sessions.ports import StoredSession

_UPSERT = (
    "INSERT INTO ussd_sessions (key, msisdn, state, status, last_hop_key, last_reply_text, "
    "last_reply_end, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, status = excluded.status, "
    "last_hop_key = excluded.last_hop_key, last_reply_text = excluded.last_reply_text, "
    "last_reply_end = excluded.last_reply_end, updated_at = excluded.updated_at"
)
_COLUMNS = (
    "key, msisdn, state, status, last_hop_key, last_reply_text, last_reply_end, "
    "created_at, updated_at"
)


_GET = f"SELECT {_COLUMNS} FROM ussd_sessions WHERE key = ?"
_LATEST_OPEN = (
    f"SELECT {_COLUMNS} FROM ussd_sessions WHERE msisdn = ? AND updated_at >= ? "
    "AND status != 'ended' ORDER BY updated_at DESC LIMIT 1"
)

_Write = tuple[tuple[Any, ...], "asyncio.Future[None]"]


class SqliteSessions(SqliteBase):
    def __init__(
        self, conn: Connection, checkpointer: Checkpointer, locks: FileLocks | None = None
    ) -> None:
        super().__init__(conn, checkpointer, locks)
        self._session_writes: list[_Write] = []
        self._session_commit: asyncio.Task[None] | None = None

    async def get_session(self, key: str) -> StoredSession | None:
        return session_from_row(await self.fetch_one(_GET, (key,)))

    async def latest_open_session(self, msisdn: str, since: float) -> StoredSession | None:
        return session_from_row(await self.fetch_one(_LATEST_OPEN, (msisdn, since)))

    async def put_session(self, session: StoredSession) -> None:
        row = (
            session.key,
            session.msisdn,
            encode_state(session.state),
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
            self._session_commit = loop.create_task(self._commit_sessions())
        await done

    async def _commit_sessions(self) -> None:
        batch, self._session_writes = self._session_writes, []
        try:
            async with self.transaction() as conn:
                # Rows of one session keep their order: the last write of a key wins.
                await conn.executemany(_UPSERT, [row for row, _ in batch])
        except Exception as exc:
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    async def set_session_status(self, key: str, status: str) -> None:
        async with self.transaction() as conn:
            await conn.execute("UPDATE ussd_sessions SET status = ? WHERE key = ?", (status, key))

    async def purge_sessions(self, updated_before: float) -> int:
        async with self.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM ussd_sessions WHERE updated_at < ?", (updated_before,)
            )
            return cur.rowcount
