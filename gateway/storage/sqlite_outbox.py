"""The outbox in SQLite: messages are written inside the caller's transaction."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from gateway.storage.common import NOTIFICATION_COLUMNS
from gateway.storage.sqlite_base import SqliteBase
from gateway.storage.sqlite_conn import Connection
from sessions.ports import Notification
from sessions.records import OutboundSms, Outcome, Result

_INSERT = (
    "INSERT INTO outbox (id, recipient, template_id, lang, params, body, priority, status, source, "
    "due_at, callback_url, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)"
)


async def insert_outbox(conn: Connection, messages: Sequence[OutboundSms]) -> None:
    """Writes messages with the connection of a transaction that is already open."""
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


class SqliteOutbox(SqliteBase):
    async def enqueue(self, messages: Sequence[OutboundSms]) -> None:
        async with self.transaction() as conn:
            await insert_outbox(conn, messages)

    async def outbox_messages(self, recipient: str | None = None) -> list[dict[str, Any]]:
        async with self.reading() as conn:
            if recipient is None:
                cur = await conn.execute("SELECT * FROM outbox ORDER BY created_at, rowid")
            else:
                cur = await conn.execute(
                    "SELECT * FROM outbox WHERE recipient = ? ORDER BY created_at, rowid",
                    (recipient,),
                )
            return [dict(row) for row in await cur.fetchall()]


class SqliteNotifications(SqliteBase):
    async def enqueue_notifications(
        self,
        entries: Sequence[tuple[str, OutboundSms | Outcome]],
        resend_after_s: int,
        idempotency: tuple[str, str] | None,
        now: float,
    ) -> Result | None:
        async with self.transaction() as conn:
            if idempotency is not None:
                cur = await conn.execute(
                    "SELECT request_hash, response FROM idempotency_keys WHERE key = ?",
                    (idempotency[0],),
                )
                row = await cur.fetchone()
                if row is not None:
                    return Result.from_json(row[1]) if row[0] == idempotency[1] else None
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
                await conn.execute(
                    "INSERT INTO idempotency_keys (key, request_hash, response, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (idempotency[0], idempotency[1], result.to_json(), now),
                )
            return result

    async def due_callbacks(self, now: float, limit: int) -> list[tuple[Notification, str, int]]:
        async with self.reading() as conn:
            cur = await conn.execute(
                f"SELECT {NOTIFICATION_COLUMNS}, callback_url, callback_attempts FROM outbox "
                "WHERE callback_url IS NOT NULL AND final_at IS NOT NULL "
                "AND (callback_state IS NULL "
                "OR (callback_state = 'pending' AND callback_due_at <= ?)) "
                "ORDER BY final_at LIMIT ?",
                (now, limit),
            )
            rows = await cur.fetchall()
        return [(Notification(*row[:-2]), row[-2], int(row[-1])) for row in rows]

    async def record_callback(
        self, message_id: str, delivered: bool, attempts: int, retry_at: float | None
    ) -> None:
        state = "done" if delivered else ("pending" if retry_at is not None else "failed")
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET callback_state = ?, callback_attempts = ?, callback_due_at = ? "
                "WHERE id = ?",
                (state, attempts, retry_at, message_id),
            )


async def _resend_wait(conn: Connection, sms: OutboundSms, resend_after_s: int, now: float) -> int:
    """Seconds left before this template may go to this number again (seed 001: 120 s)."""
    if resend_after_s <= 0:
        return 0
    cur = await conn.execute(
        "SELECT MAX(created_at) FROM outbox WHERE recipient = ? AND template_id = ? "
        "AND created_at > ?",
        (sms.recipient, sms.template_id, now - resend_after_s),
    )
    row = await cur.fetchone()
    if row is None or row[0] is None:
        return 0
    return max(1, math.ceil(float(row[0]) + resend_after_s - now))
