"""Password resets, rate-limit counters and API keys in SQLite."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.storage.sqlite_base import SqliteBase
from gateway.storage.sqlite_outbox import insert_outbox
from sessions.records import ApiKey, Limit, OutboundSms, PasswordReset

_RESET_COLUMNS = (
    "national_id, mobile, tracking_code, password_hash, created_at, expires_at, status, "
    "attempts, id"
)


class SqliteSecurity(SqliteBase):
    async def create_reset(self, reset: PasswordReset, sms: Sequence[OutboundSms]) -> None:
        async with self.transaction() as conn:
            # Only the latest reset works (seed 003): every earlier one stops working now.
            await conn.execute(
                "UPDATE password_resets SET status = 'superseded' "
                "WHERE national_id = ? AND status = 'active'",
                (reset.national_id,),
            )
            cur = await conn.execute(
                "INSERT INTO password_resets (national_id, mobile, tracking_code, password_hash, "
                "created_at, expires_at, status, attempts) VALUES (?, ?, ?, ?, ?, ?, 'active', 0)",
                (
                    reset.national_id,
                    reset.mobile,
                    reset.tracking_code,
                    reset.password_hash,
                    reset.created_at,
                    reset.expires_at,
                ),
            )
            reset.id = cur.lastrowid or 0
            await insert_outbox(conn, sms)

    async def latest_reset(self, national_id: str) -> PasswordReset | None:
        async with self.reading() as conn:
            cur = await conn.execute(
                f"SELECT {_RESET_COLUMNS} FROM password_resets WHERE national_id = ? "
                "ORDER BY id DESC LIMIT 1",
                (national_id,),
            )
            row = await cur.fetchone()
            return PasswordReset(*row) if row is not None else None

    async def count_reset_failure(self, reset_id: int, max_attempts: int) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE password_resets SET attempts = attempts + 1, "
                "status = CASE WHEN attempts + 1 >= ? THEN 'spent' ELSE status END "
                "WHERE id = ? AND status = 'active'",
                (max_attempts, reset_id),
            )

    async def hit_limits(self, limits: Sequence[Limit], now: float) -> Limit | None:
        async with self.transaction() as conn:
            windows = [(limit, now - now % limit.window_s) for limit in limits]
            for limit, start in windows:
                cur = await conn.execute(
                    "SELECT count FROM rate_limits WHERE key = ? AND window_start = ?",
                    (limit.key, start),
                )
                row = await cur.fetchone()
                if row is not None and row[0] >= limit.limit:
                    return limit
            for limit, start in windows:
                await conn.execute(
                    "INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1) "
                    "ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1",
                    (limit.key, start),
                )
            oldest = min((start for _, start in windows), default=now)
            # Old windows are dead weight; clear the ones this call's keys no longer use.
            await conn.executemany(
                "DELETE FROM rate_limits WHERE key = ? AND window_start < ?",
                [(limit.key, oldest) for limit, _ in windows],
            )
            return None

    async def add_api_key(self, key: ApiKey) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO api_keys (key_id, name, key_hash, scopes, created_at, revoked) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key.key_id,
                    key.name,
                    key.key_hash,
                    ",".join(sorted(key.scopes)),
                    key.created_at,
                    int(key.revoked),
                ),
            )

    async def revoke_api_key(self, key_id: str) -> bool:
        async with self.transaction() as conn:
            cur = await conn.execute("UPDATE api_keys SET revoked = 1 WHERE key_id = ?", (key_id,))
            return cur.rowcount == 1

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        async with self.reading() as conn:
            cur = await conn.execute(
                "SELECT key_id, name, key_hash, scopes, created_at, revoked FROM api_keys "
                "WHERE key_id = ?",
                (key_id,),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            scopes = frozenset(s for s in row[3].split(",") if s)
            return ApiKey(row[0], row[1], row[2], scopes, row[4], bool(row[5]))
