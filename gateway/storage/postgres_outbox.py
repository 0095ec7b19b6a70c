"""The outbox in PostgreSQL: messages are written inside the caller's transaction; notification
requests with idempotency keys and the resend interval, safe when several processes take them."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from gateway.storage.common import NOTIFICATION_COLUMNS
from gateway.storage.postgres_base import Connection, PostgresBase, xact_lock
from sessions.ports import Notification
from sessions.records import OutboundSms, Outcome, Result

_INSERT = (
    "INSERT INTO outbox (id, recipient, template_id, lang, params, body, priority, status, source, "
    "due_at, callback_url, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9, $10, $11, $12)"
)
# While one pass posts a final-status callback, the others leave it alone; a pass that dies
# mid-way leaves it due again after this.
CALLBACK_LEASE_S = 300.0


async def insert_outbox(conn: Connection, messages: Sequence[OutboundSms]) -> None:
    """Writes messages with the connection of a transaction that is already open."""
    if not messages:
        return
    await conn.executemany(
        _INSERT,
        [
            (
                m.id,
                m.recipient,
                m.template_id,
                m.lang,
                json.dumps(m.params, ensure_ascii=False),
                m.body,
                m.priority,
                m.source,
                m.due_at,
                m.callback_url,
                m.created_at,
                m.created_at,
            )
            for m in messages
        ],
    )


class _KeyTaken(Exception):
    """A concurrent request stored the same idempotency key first: roll back, replay theirs."""


class PostgresOutbox(PostgresBase):
    async def enqueue(self, messages: Sequence[OutboundSms]) -> None:
        async with self.transaction() as conn:
            await insert_outbox(conn, messages)

    async def outbox_messages(self, recipient: str | None = None) -> list[dict[str, Any]]:
        async with self.connection() as conn:
            if recipient is None:
                rows = await conn.fetch("SELECT * FROM outbox ORDER BY created_at, seq")
            else:
                rows = await conn.fetch(
                    "SELECT * FROM outbox WHERE recipient = $1 ORDER BY created_at, seq", recipient
                )
        return [{k: v for k, v in row.items() if k != "seq"} for row in rows]


class PostgresNotifications(PostgresBase):
    async def enqueue_notifications(
        self,
        entries: Sequence[tuple[str, OutboundSms | Outcome]],
        resend_after_s: int,
        idempotency: tuple[str, str] | None,
        now: float,
    ) -> Result | None:
        try:
            return await self._enqueue_notifications(entries, resend_after_s, idempotency, now)
        except _KeyTaken:
            assert idempotency is not None
            async with self.connection() as conn:
                return await _replay(conn, idempotency)

    async def _enqueue_notifications(
        self,
        entries: Sequence[tuple[str, OutboundSms | Outcome]],
        resend_after_s: int,
        idempotency: tuple[str, str] | None,
        now: float,
    ) -> Result | None:
        async with self.transaction() as conn:
            # Concurrent requests with one key run one after the other; so do requests that could
            # send one template to one number twice within the resend interval.
            keys = [f"idem:{idempotency[0]}"] if idempotency is not None else []
            await xact_lock(conn, *keys)
            if idempotency is not None:
                row = await conn.fetchrow(
                    "SELECT request_hash, response FROM idempotency_keys WHERE key = $1",
                    idempotency[0],
                )
                if row is not None:
                    return Result.from_json(row[1]) if row[0] == idempotency[1] else None
            if resend_after_s > 0:
                templates = {i.template_id for _, i in entries if isinstance(i, OutboundSms)}
                await xact_lock(conn, *(f"resend:{t}" for t in templates))
            outcomes: list[Outcome] = []
            accepted: list[OutboundSms] = []
            for raw, item in entries:
                if isinstance(item, Outcome):
                    outcomes.append(item)
                    continue
                wait = await _resend_wait(conn, item, resend_after_s, now)
                if wait:
                    outcomes.append(
                        Outcome(
                            raw, code="resend_too_soon", reason="sent recently", retry_after=wait
                        )
                    )
                    continue
                accepted.append(item)
                outcomes.append(Outcome(raw, id=item.id))
            await insert_outbox(conn, accepted)
            result = Result(outcomes)
            if idempotency is not None:
                stored = await conn.fetchval(
                    "INSERT INTO idempotency_keys (key, request_hash, response, created_at) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING RETURNING key",
                    idempotency[0],
                    idempotency[1],
                    result.to_json(),
                    now,
                )
                if stored is None:
                    raise _KeyTaken
            return result

    async def due_callbacks(self, now: float, limit: int) -> list[tuple[Notification, str, int]]:
        async with self.transaction() as conn:
            rows = await conn.fetch(
                "WITH due AS (SELECT id FROM outbox "
                "WHERE callback_url IS NOT NULL AND final_at IS NOT NULL "
                "AND (callback_state IS NULL "
                "OR (callback_state = 'pending' AND callback_due_at <= $1)) "
                "ORDER BY final_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
                "UPDATE outbox o SET callback_state = 'pending', callback_due_at = $3 "
                f"FROM due WHERE o.id = due.id RETURNING {_qualified('o')}, "
                "o.callback_url, o.callback_attempts",
                now,
                limit,
                now + CALLBACK_LEASE_S,
            )
        ordered = sorted(rows, key=lambda r: (r["final_at"], r["id"]))
        return [(Notification(*row[:-2]), row[-2], int(row[-1])) for row in ordered]

    async def record_callback(
        self, message_id: str, delivered: bool, attempts: int, retry_at: float | None
    ) -> None:
        state = "done" if delivered else ("pending" if retry_at is not None else "failed")
        async with self.connection() as conn:
            await conn.execute(
                "UPDATE outbox SET callback_state = $1, callback_attempts = $2, "
                "callback_due_at = $3 WHERE id = $4",
                state,
                attempts,
                retry_at,
                message_id,
            )


def _qualified(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in NOTIFICATION_COLUMNS.split(","))


async def _replay(conn: Connection, idempotency: tuple[str, str]) -> Result | None:
    row = await conn.fetchrow(
        "SELECT request_hash, response FROM idempotency_keys WHERE key = $1", idempotency[0]
    )
    if row is None:  # cannot happen: the key was there when our insert gave way
        raise RuntimeError("idempotency key vanished")
    return Result.from_json(row[1]) if row[0] == idempotency[1] else None


async def _resend_wait(conn: Connection, sms: OutboundSms, resend_after_s: int, now: float) -> int:
    """Seconds left before this template may go to this number again (seed 001: 120 s)."""
    if resend_after_s <= 0:
        return 0
    latest = await conn.fetchval(
        "SELECT MAX(created_at) FROM outbox WHERE recipient = $1 AND template_id = $2 "
        "AND created_at > $3",
        sms.recipient,
        sms.template_id,
        now - resend_after_s,
    )
    if latest is None:
        return 0
    return max(1, math.ceil(float(latest) + resend_after_s - now))
