"""USSD session rows in PostgreSQL."""

from __future__ import annotations

from gateway.storage.common import (
    SESSION_COLUMNS,
    encode_state,
    session_from_row,
    sessions_by_key,
)
from gateway.storage.postgres_base import PostgresBase, affected
from sessions.ports import StoredSession

_COLUMNS = SESSION_COLUMNS


class PostgresSessions(PostgresBase):
    async def get_session(self, key: str) -> StoredSession | None:
        async with self.connection() as conn:
            return session_from_row(
                await conn.fetchrow(f"SELECT {_COLUMNS} FROM ussd_sessions WHERE key = $1", key)
            )

    async def latest_open_session(self, msisdn: str, since: float) -> StoredSession | None:
        async with self.connection() as conn:
            return session_from_row(
                await conn.fetchrow(
                    f"SELECT {_COLUMNS} FROM ussd_sessions WHERE msisdn = $1 AND updated_at >= $2 "
                    "AND status != 'ended' ORDER BY updated_at DESC LIMIT 1",
                    msisdn,
                    since,
                )
            )

    async def session_or_latest(
        self, key: str, msisdn: str, since: float
    ) -> tuple[StoredSession | None, StoredSession | None]:
        async with self.connection() as conn:  # one round trip where two would do
            rows = await conn.fetch(
                f"(SELECT {_COLUMNS} FROM ussd_sessions WHERE key = $1) UNION ALL "
                f"(SELECT {_COLUMNS} FROM ussd_sessions WHERE msisdn = $2 AND updated_at >= $3 "
                "AND status != 'ended' ORDER BY updated_at DESC LIMIT 1)",
                key,
                msisdn,
                since,
            )
        return sessions_by_key(rows, key)

    async def put_session(self, session: StoredSession) -> None:
        async with self.connection() as conn:  # one statement: atomic on its own
            await conn.execute(
                f"INSERT INTO ussd_sessions ({_COLUMNS}) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                "ON CONFLICT (key) DO UPDATE SET state = excluded.state, status = excluded.status, "
                "last_hop_key = excluded.last_hop_key, last_reply_text = excluded.last_reply_text, "
                "last_reply_end = excluded.last_reply_end, updated_at = excluded.updated_at",
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

    async def set_session_status(self, key: str, status: str) -> None:
        async with self.connection() as conn:
            await conn.execute("UPDATE ussd_sessions SET status = $1 WHERE key = $2", status, key)

    async def purge_sessions(self, updated_before: float) -> int:
        async with self.connection() as conn:
            return affected(
                await conn.execute(
                    "DELETE FROM ussd_sessions WHERE updated_at < $1", updated_before
                )
            )
