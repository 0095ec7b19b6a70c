"""Password resets, rate-limit counters and API keys."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.storage.audit import append_audit
from gateway.storage.database import Database
from gateway.storage.outbox import insert_outbox
from sessions.records import ApiKey, Limit, OutboundSms, PasswordReset

_RESET_COLUMNS = (
    "national_id, mobile, tracking_code, password_hash, created_at, expires_at, status, "
    "attempts, id"
)


_CLEAR_OLD = "DELETE FROM rate_limits WHERE key = ? AND window_start < ?"
# No row back when the counter is already at its limit: nothing counted.
_COUNT_BELOW = (
    "INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1) "
    "ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1 "
    "WHERE rate_limits.count < ? RETURNING count"
)


class _Full(Exception):
    def __init__(self, limit: Limit) -> None:
        self.limit = limit


class Security:
    db: Database

    async def create_reset(self, reset: PasswordReset, sms: Sequence[OutboundSms]) -> None:
        async with self.db.transaction() as tx:
            # Only the latest reset works (seed 003): every earlier one stops working now, and two
            # resets of one national ID made at once cannot both stay active.
            await tx.lock(f"resets:{reset.national_id}")
            await tx.execute(
                "UPDATE password_resets SET status = 'superseded' "
                "WHERE national_id = ? AND status = 'active'",
                reset.national_id,
            )
            reset.id = await tx.fetchval(
                "INSERT INTO password_resets (national_id, mobile, tracking_code, password_hash, "
                "created_at, expires_at, status, attempts) "
                "VALUES (?, ?, ?, ?, ?, ?, 'active', 0) RETURNING id",
                reset.national_id,
                reset.mobile,
                reset.tracking_code,
                reset.password_hash,
                reset.created_at,
                reset.expires_at,
            )
            await insert_outbox(tx, sms)

    async def latest_reset(self, national_id: str) -> PasswordReset | None:
        async with self.db.reading() as tx:
            row = await tx.fetchrow(
                f"SELECT {_RESET_COLUMNS} FROM password_resets WHERE national_id = ? "
                "ORDER BY id DESC LIMIT 1",
                national_id,
            )
        return PasswordReset(*row) if row is not None else None

    async def count_reset_failure(self, reset_id: int, max_attempts: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE password_resets SET attempts = attempts + 1, "
                "status = CASE WHEN attempts + 1 >= ? THEN 'spent' ELSE status END "
                "WHERE id = ? AND status = 'active'",
                max_attempts,
                reset_id,
            )

    async def hit_limits(self, limits: Sequence[Limit], now: float) -> Limit | None:
        """Counts first, then looks: each upsert locks its counter row until the commit, so
        concurrent callers in any process see each other's counts; when one limit was already
        full nothing is counted. Each key's older windows are dead weight, read by no one:
        cleared first, so every caller takes old rows before current ones (one lock order)."""
        windows = [(limit, now - now % limit.window_s) for limit in limits]
        if len(windows) == 1 and windows[0][0].limit > 0:
            return await self._hit_limit(*windows[0])
        oldest = min((start for _, start in windows), default=now)
        try:
            async with self.db.transaction() as tx:
                await tx.executemany(
                    _CLEAR_OLD, sorted({(limit.key, oldest) for limit, _ in windows})
                )
                counts: dict[tuple[str, float], int] = {}
                # One lock order (by key) for every caller, so two callers never deadlock.
                for limit, start in sorted(windows, key=lambda w: (w[0].key, w[1])):
                    counts[(limit.key, start)] = await tx.fetchval(
                        "INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1) "
                        "ON CONFLICT (key, window_start) "
                        "DO UPDATE SET count = rate_limits.count + 1 RETURNING count",
                        limit.key,
                        start,
                    )
                for limit, start in windows:
                    if counts[(limit.key, start)] > limit.limit:
                        raise _Full(limit)  # the whole transaction undone: nothing counted
        except _Full as full:
            return full.limit
        return None

    async def _hit_limit(self, limit: Limit, start: float) -> Limit | None:
        """One counter, counted only while below its limit: a full one is left as it was, so
        nothing needs undoing, and the clearing before it stands on its own. Inside a unit of
        work on SQLite, then, no savepoint of its own."""
        async with self.db.transaction(savepoint=False) as tx:
            await tx.execute(_CLEAR_OLD, limit.key, start)
            count = await tx.fetchval(_COUNT_BELOW, limit.key, start, limit.limit)
        return limit if count is None else None

    async def add_api_key(self, key: ApiKey) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO api_keys (key_id, name, key_hash, scopes, created_at, revoked) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                key.key_id,
                key.name,
                key.key_hash,
                ",".join(sorted(key.scopes)),
                key.created_at,
                int(key.revoked),
            )
            await append_audit(
                tx,
                "api_keys.created",
                key.key_id,
                after={"key_id": key.key_id, "name": key.name, "scopes": sorted(key.scopes)},
                personal_target=False,
            )

    async def revoke_api_key(self, key_id: str) -> bool:
        async with self.db.transaction() as tx:
            revoked = await tx.execute(
                "UPDATE api_keys SET revoked = 1 WHERE key_id = ? AND revoked = 0", key_id
            )
            if revoked == 1:
                await append_audit(
                    tx,
                    "api_keys.revoked",
                    key_id,
                    {"revoked": False},
                    {"revoked": True},
                    personal_target=False,
                )
                return True
            return await tx.fetchval("SELECT 1 FROM api_keys WHERE key_id = ?", key_id) is not None

    async def has_api_key_named(self, name: str) -> bool:
        async with self.db.reading() as tx:
            found = await tx.fetchval("SELECT 1 FROM api_keys WHERE name = ? LIMIT 1", name)
        return found is not None

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        async with self.db.reading() as tx:
            row = await tx.fetchrow(
                "SELECT key_id, name, key_hash, scopes, created_at, revoked FROM api_keys "
                "WHERE key_id = ?",
                key_id,
            )
        if row is None:
            return None
        scopes = frozenset(s for s in row[3].split(",") if s)
        return ApiKey(row[0], row[1], row[2], scopes, row[4], bool(row[5]))
