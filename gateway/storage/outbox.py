"""The outbox: messages written inside the caller's transaction; notification requests with
idempotency keys and the resend interval, safe when several processes take them at once."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from gateway.storage.audit import append_audit
from gateway.storage.database import Database, Tx
from gateway.storage.rows import NOTIFICATION_COLUMNS
from sessions.ports import Notification
from sessions.records import OutboundSms, Outcome, Result

_INSERT = (
    "INSERT INTO outbox (id, recipient, template_id, lang, params, body, sealed, priority, status, "
    "source, due_at, expires_at, callback_url, created_at, updated_at, otp) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)"
)
_IDEMPOTENT = "SELECT request_hash, response FROM idempotency_keys WHERE key = ?"
# A message written without a validity of its own (the records' notices) is worth sending for a
# week; the services give codes, passwords and the API's notices theirs.
DEFAULT_VALIDITY_S = 7 * 24 * 3600
# While one pass posts a final-status callback, the others leave it alone; a pass that dies
# mid-way leaves it due again after this.
CALLBACK_LEASE_S = 300.0


async def insert_outbox(tx: Tx, messages: Sequence[OutboundSms]) -> None:
    """Writes messages with the connection of a transaction that is already open."""
    if not messages:
        return
    await tx.executemany(
        _INSERT,
        [
            (
                m.id,
                m.recipient,
                m.template_id,
                m.lang,
                json.dumps(m.params, ensure_ascii=False),
                m.body,
                m.sealed,
                m.priority,
                m.source,
                m.due_at,
                m.expires_at or m.due_at + DEFAULT_VALIDITY_S,
                m.callback_url,
                m.created_at,
                m.created_at,
                m.otp,
            )
            for m in messages
        ],
    )


def _callbacks_sql(skip_locked: str) -> str:
    """Ended messages with a callback not yet made, or whose retry is due, first ended first.
    Each branch of the OR names the callback index's partial WHERE itself (a callback URL, an
    end): SQLite proves a partial index usable from one branch's own terms, never from the
    terms beside the OR."""
    due = "callback_url IS NOT NULL AND final_at IS NOT NULL AND"
    return (
        "UPDATE outbox SET callback_state = 'pending', callback_due_at = ? "
        f"WHERE id IN (SELECT id FROM outbox WHERE ({due} callback_state IS NULL) "
        f"OR ({due} callback_state = 'pending' AND callback_due_at <= ?) "
        f"ORDER BY final_at LIMIT ?{skip_locked}) "
        f"RETURNING {NOTIFICATION_COLUMNS}, callback_url, callback_attempts, source"
    )


class _KeyTaken(Exception):
    """A concurrent request stored the same idempotency key first: roll back, replay theirs."""


class Outbox:
    db: Database

    async def enqueue(self, messages: Sequence[OutboundSms]) -> None:
        # One message is one statement: nothing of it is left should it fail. Several are one
        # statement each, and all or none must stand.
        async with self.db.transaction(savepoint=len(messages) > 1) as tx:
            await insert_outbox(tx, messages)

    async def outbox_messages(self, recipient: str | None = None) -> list[dict[str, Any]]:
        async with self.db.reading() as tx:
            if recipient is None:
                rows = await tx.fetch_dicts("SELECT * FROM outbox ORDER BY seq")
            else:
                rows = await tx.fetch_dicts(
                    "SELECT * FROM outbox WHERE recipient = ? ORDER BY seq", recipient
                )
        for row in rows:
            del row["seq"]
        return rows

    async def reseal(self, reseal: Callable[[bytes], bytes], batch: int = 500) -> int:
        """Every sealed text sealed again under the newest key (a key rotation); in batches, so
        the dispatcher keeps going meanwhile. A text sent meanwhile has dropped its seal."""
        done, after = 0, 0
        while True:
            async with self.db.transaction() as tx:
                rows = await tx.fetch(
                    "SELECT seq, sealed FROM outbox WHERE sealed IS NOT NULL AND seq > ? "
                    "ORDER BY seq LIMIT ?",
                    after,
                    batch,
                )
                for seq, sealed in rows:
                    await tx.execute(
                        "UPDATE outbox SET sealed = ? WHERE seq = ? AND sealed IS NOT NULL",
                        reseal(bytes(sealed)),
                        seq,
                    )
            done += len(rows)
            if len(rows) < batch:
                return done
            after = rows[-1][0]


class Notifications:
    db: Database

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
            async with self.db.reading() as tx:
                row = await tx.fetchrow(_IDEMPOTENT, idempotency[0])
            if row is None:  # cannot happen: the key was there when our insert gave way
                raise RuntimeError("idempotency key vanished") from None
            return Result.from_json(row[1]) if row[0] == idempotency[1] else None

    async def _enqueue_notifications(
        self,
        entries: Sequence[tuple[str, OutboundSms | Outcome]],
        resend_after_s: int,
        idempotency: tuple[str, str] | None,
        now: float,
    ) -> Result | None:
        async with self.db.transaction() as tx:
            # Concurrent requests with one key run one after the other; so do requests that could
            # send one template to one number twice within the resend interval.
            if idempotency is not None:
                await tx.lock(f"idem:{idempotency[0]}")
                row = await tx.fetchrow(_IDEMPOTENT, idempotency[0])
                if row is not None:
                    return Result.from_json(row[1]) if row[0] == idempotency[1] else None
            if resend_after_s > 0:
                templates = {i.template_id for _, i in entries if isinstance(i, OutboundSms)}
                await tx.lock(*(f"resend:{t}" for t in templates))
            outcomes: list[Outcome] = []
            accepted: list[OutboundSms] = []
            for raw, item in entries:
                if isinstance(item, Outcome):
                    outcomes.append(item)
                    continue
                wait = await _resend_wait(tx, item, resend_after_s, now)
                if wait:
                    outcomes.append(
                        Outcome(
                            raw, code="resend_too_soon", reason="sent recently", retry_after=wait
                        )
                    )
                    continue
                accepted.append(item)
                outcomes.append(Outcome(raw, id=item.id))
            await insert_outbox(tx, accepted)
            if accepted:
                await append_audit(
                    tx,
                    "notifications.created",
                    accepted[0].id if len(accepted) == 1 else f"{len(accepted)} messages",
                    after={
                        "ids": [m.id for m in accepted],
                        "template_id": accepted[0].template_id,
                        "recipients": [m.recipient for m in accepted],
                        "count": len(accepted),
                    },
                    personal_target=False,
                )
            result = Result(outcomes)
            if idempotency is not None:
                stored = await tx.fetchval(
                    "INSERT INTO idempotency_keys (key, request_hash, response, created_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING key",
                    idempotency[0],
                    idempotency[1],
                    result.to_json(),
                    now,
                )
                if stored is None:
                    raise _KeyTaken
            return result

    async def due_callbacks(
        self, now: float, limit: int
    ) -> list[tuple[Notification, str, int, str]]:
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                _callbacks_sql(self.db.skip_locked),
                now + CALLBACK_LEASE_S,
                now,
                limit,
            )
        ordered = sorted(rows, key=lambda r: (r[9], r[0]))  # final_at, then id
        return [(Notification(*row[:-3]), row[-3], int(row[-2]), row[-1]) for row in ordered]

    async def record_callback(
        self, message_id: str, delivered: bool, attempts: int, retry_at: float | None
    ) -> None:
        state = "done" if delivered else ("pending" if retry_at is not None else "failed")
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET callback_state = ?, callback_attempts = ?, callback_due_at = ? "
                "WHERE id = ?",
                state,
                attempts,
                retry_at,
                message_id,
            )


async def _resend_wait(tx: Tx, sms: OutboundSms, resend_after_s: int, now: float) -> int:
    """Seconds left before this template may go to this number again (seed 001: 120 s)."""
    if resend_after_s <= 0:
        return 0
    latest = await tx.fetchval(
        "SELECT MAX(created_at) FROM outbox WHERE recipient = ? AND template_id = ? "
        "AND created_at > ?",
        sms.recipient,
        sms.template_id,
        now - resend_after_s,
    )
    if latest is None:
        return 0
    return max(1, math.ceil(float(latest) + resend_after_s - now))
