"""The dispatcher's side of the outbox: leases, send results, delivery reports, polls.

Any number of dispatchers, in any number of processes, may share the outbox: a claim takes due
rows (on PostgreSQL `FOR UPDATE SKIP LOCKED`: each row goes to exactly one claimer, none waits for
another) and leases them by counting the attempt. A result is written only while that very claim
holds (status `sending`, same attempt), so a dispatcher that lost its lease (it stalled, another
pass resent) cannot overwrite the newer outcome.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.storage.database import Database, Tx
from gateway.storage.rows import NOTIFICATION_COLUMNS, REDACTED_BODY
from sessions.ports import ClaimedSms, Notification, SendOutcome, StatusUpdate
from sessions.records import PRIORITY_BULK, PRIORITY_OTP, PRIORITY_TRANSACTIONAL

# queued/sending < sent < a final state: a report may only move a message up this scale.
_RANK = {"queued": 0, "sending": 0, "sent": 1, "delivered": 2, "undelivered": 2, "failed": 2}

_CLAIMED = "id, recipient, body, priority, template_id, attempts"
_ORDER = "priority, due_at, seq"


def _claim_sql(skip_locked: str) -> str:
    """Due messages read state by state, each its own index range in that index's order (queued
    ones by priority, then due time, then queue order; lapsed leases by their end), then the
    first `limit` of them all, in priority order. A backlog of any size costs a claim only the
    rows it looks at: never an OR over two indexes and a sort of every due row."""
    queued = [
        f"SELECT * FROM (SELECT id, {_ORDER} FROM outbox WHERE status = 'queued' AND priority = "
        f"{p} AND due_at <= ? ORDER BY due_at, seq LIMIT ?{skip_locked}) AS p{p}"
        for p in (PRIORITY_OTP, PRIORITY_TRANSACTIONAL, PRIORITY_BULK)
    ]
    lapsed = (
        f"SELECT * FROM (SELECT id, {_ORDER} FROM outbox WHERE status = 'sending' "
        f"AND lease_until <= ? ORDER BY lease_until LIMIT ?{skip_locked}) AS lapsed"
    )
    due = " UNION ALL ".join([*queued, lapsed])
    return (
        "UPDATE outbox SET status = 'sending', lease_until = ?, attempts = attempts + 1, "
        f"updated_at = ? WHERE id IN (SELECT id FROM ({due}) AS due ORDER BY {_ORDER} LIMIT ?) "
        f"RETURNING {_CLAIMED}, due_at, seq"
    )


_SENT = (
    "UPDATE outbox SET status = 'sent', provider = ?, provider_message_id = ?, "
    "provider_status = ?, cost = ?, error = NULL, lease_until = NULL, sent_at = ?, "
    f"updated_at = ?, body = {REDACTED_BODY} "
    "WHERE id = ? AND status = 'sending' AND attempts = ?"
)
_RETRY = (
    "UPDATE outbox SET status = 'queued', due_at = ?, error = ?, provider = COALESCE(?, provider), "
    "lease_until = NULL, updated_at = ? WHERE id = ? AND status = 'sending' AND attempts = ?"
)
_FAILED = (
    "UPDATE outbox SET status = 'failed', error = ?, provider = COALESCE(?, provider), "
    "provider_message_id = COALESCE(?, provider_message_id), cost = COALESCE(?, cost), "
    "provider_status = COALESCE(?, provider_status), lease_until = NULL, final_at = ?, "
    f"updated_at = ?, body = {REDACTED_BODY} "
    "WHERE id = ? AND status = 'sending' AND attempts = ?"
)
_REPORT = (
    "UPDATE outbox SET status = ?, provider_status = ?, updated_at = ?, "
    "final_at = CASE WHEN ? THEN ? ELSE final_at END, "
    "sent_at = COALESCE(sent_at, ?), lease_until = NULL, "
    f"body = CASE WHEN ? THEN {REDACTED_BODY} ELSE body END WHERE id = ?"
)


async def _write_outcome(tx: Tx, o: SendOutcome, now: float) -> int:
    if o.status == "sent":
        return await tx.execute(
            _SENT,
            o.provider,
            o.provider_message_id,
            o.provider_status,
            o.cost,
            now,
            now,
            o.id,
            o.attempt,
        )
    if o.status == "queued":
        due = o.due_at if o.due_at is not None else now
        return await tx.execute(_RETRY, due, o.error, o.provider, now, o.id, o.attempt)
    return await tx.execute(
        _FAILED,
        o.error,
        o.provider,
        o.provider_message_id,
        o.cost,
        o.provider_status,
        now,
        now,
        o.id,
        o.attempt,
    )


async def _apply_one(tx: Tx, provider: str, report: StatusUpdate, now: float) -> int:
    rows = await tx.fetch(
        "SELECT id, status, provider_status FROM outbox "
        "WHERE provider = ? AND provider_message_id = ? ORDER BY id",
        provider,
        report.provider_message_id,
    )
    changed = 0
    for message_id, status, provider_status in rows:
        old_rank, new_rank = _RANK[status], _RANK[report.status]
        if new_rank < old_rank or (new_rank == old_rank and new_rank != 1):
            continue  # never downgrade a final state; the first final report wins
        if new_rank == 1 and provider_status == report.provider_status:
            continue  # the same "sent" report again
        final = new_rank == 2
        await tx.execute(
            _REPORT, report.status, report.provider_status, now, final, now, now, final, message_id
        )
        changed += 1
    return changed


class Dispatch:
    db: Database

    async def claim_due(self, now: float, limit: int, lease_s: float) -> list[ClaimedSms]:
        sql = _claim_sql(self.db.skip_locked)
        leaves = (now, limit) * 4  # each state's range: due by now, at most `limit`
        async with self.db.transaction() as tx:  # one statement: select, lock and lease at once
            rows = await tx.fetch(sql, now + lease_s, now, *leaves, limit)
        rows = sorted(rows, key=lambda r: (r[3], r[6], r[7]))  # priority, due_at, seq
        return [ClaimedSms(*row[:6]) for row in rows]

    async def record_outcomes(self, outcomes: Sequence[SendOutcome], now: float) -> int:
        async with self.db.transaction() as tx:
            written = 0
            for outcome in sorted(outcomes, key=lambda o: o.id):  # one lock order for all
                written += await _write_outcome(tx, outcome, now)
            return written

    async def apply_reports(
        self, provider: str, reports: Sequence[StatusUpdate], now: float
    ) -> int:
        async with self.db.transaction() as tx:
            changed = 0
            for report in sorted(reports, key=lambda r: r.provider_message_id):
                changed += await _apply_one(tx, provider, report, now)
            return changed

    async def claim_polls(
        self, now: float, sent_before: float, sent_after: float, limit: int
    ) -> dict[str, list[str]]:
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "UPDATE outbox SET polled_at = ? WHERE id IN (SELECT id FROM outbox "
                "WHERE status = 'sent' AND sent_at <= ? AND sent_at > ? "
                "AND provider_message_id IS NOT NULL AND COALESCE(polled_at, sent_at) <= ? "
                f"ORDER BY sent_at LIMIT ?{self.db.skip_locked}) "
                "RETURNING provider, provider_message_id, sent_at, seq",
                now,
                sent_before,
                sent_after,
                sent_before,
                limit,
            )
        due: dict[str, list[str]] = {}
        for row in sorted(rows, key=lambda r: (r[2], r[3])):
            due.setdefault(row[0], []).append(row[1])
        return due

    async def get_notification(self, message_id: str) -> Notification | None:
        async with self.db.reading() as tx:
            row = await tx.fetchrow(
                f"SELECT {NOTIFICATION_COLUMNS} FROM outbox WHERE id = ?", message_id
            )
        return Notification(*row) if row is not None else None
