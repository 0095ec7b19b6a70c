"""USSD session rows in SQLite."""

from __future__ import annotations

import json
from typing import Any

import aiosqlite

from gateway.storage.sqlite_base import SqliteBase
from sessions.ports import StoredSession

_COLUMNS = (
    "key, msisdn, state, status, last_hop_key, last_reply_text, last_reply_end, "
    "created_at, updated_at"
)


def _row(row: aiosqlite.Row | None) -> StoredSession | None:
    if row is None:
        return None
    state: dict[str, Any] = json.loads(row["state"])
    return StoredSession(
        key=row["key"],
        msisdn=row["msisdn"],
        state=state,
        status=row["status"],
        last_hop_key=row["last_hop_key"],
        last_reply_text=row["last_reply_text"],
        last_reply_end=bool(row["last_reply_end"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqliteSessions(SqliteBase):
    async def get_session(self, key: str) -> StoredSession | None:
        async with self.reading() as conn:
            cur = await conn.execute(f"SELECT {_COLUMNS} FROM ussd_sessions WHERE key = ?", (key,))
            return _row(await cur.fetchone())

    async def latest_open_session(self, msisdn: str, since: float) -> StoredSession | None:
        async with self.reading() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM ussd_sessions WHERE msisdn = ? AND updated_at >= ? "
                "AND status != 'ended' ORDER BY updated_at DESC LIMIT 1",
                (msisdn, since),
            )
            return _row(await cur.fetchone())

    async def put_session(self, session: StoredSession) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                f"INSERT INTO ussd_sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET state = excluded.state, status = excluded.status, "
                "last_hop_key = excluded.last_hop_key, last_reply_text = excluded.last_reply_text, "
                "last_reply_end = excluded.last_reply_end, updated_at = excluded.updated_at",
                (
                    session.key,
                    session.msisdn,
                    json.dumps(session.state, ensure_ascii=False, separators=(",", ":")),
                    session.status,
                    session.last_hop_key,
                    session.last_reply_text,
                    int(session.last_reply_end),
                    session.created_at,
                    session.updated_at,
                ),
            )

    async def set_session_status(self, key: str, status: str) -> None:
        async with self.transaction() as conn:
            await conn.execute("UPDATE ussd_sessions SET status = ? WHERE key = ?", (status, key))

    async def purge_sessions(self, updated_before: float) -> int:
        async with self.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM ussd_sessions WHERE updated_at < ?", (updated_before,)
            )
            return cur.rowcount
