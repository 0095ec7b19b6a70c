"""The dispatcher's side of the outbox in SQLite: leases, send results, delivery reports, polls.

Every call is one short transaction. A claim counts the attempt and leases the row; a result is
written only while that very claim holds (status `sending`, same attempt), so a dispatcher that
lost its lease (it stalled, another pass resent) cannot overwrite the newer outcome.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.storage.common import NOTIFICATION_COLUMNS, REDACTED_BODY
from gateway.storage.sqlite_base import SqliteBase
from gateway.storage.sqlite_conn import Connection
from sessions.ports import ClaimedSms, Notification, SendOutcome, StatusUpdate

# Codes and passwords must not stay readable in a database dump once they have gone out.

# queued/sending < sent < a final state: a report may only move a message up this scale.
_RANK = {"queued": 0, "sending": 0, "sent": 1, "delivered": 2, "undelivered": 2, "failed": 2}

_CLAIM = (
    "SELECT id FROM outbox WHERE (status = 'queued' AND due_at <= :now) "
    "OR (status = 'sending' AND lease_until <= :now) "
    "ORDER BY priority, due_at, rowid LIMIT :limit"
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


async def _write_outcome(conn: Connection, o: SendOutcome, now: float) -> int:
    if o.status == "sent":
        args: tuple[object, ...] = (
            o.provider,
            o.provider_message_id,
            o.provider_status,
            o.cost,
            now,
            now,
            o.id,
            o.attempt,
        )
        cur = await conn.execute(_SENT, args)
    elif o.status == "queued":
        due = o.due_at if o.due_at is not None else now
        cur = await conn.execute(_RETRY, (due, o.error, o.provider, now, o.id, o.attempt))
    else:
        args = (
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
        cur = await conn.execute(_FAILED, args)
    return cur.rowcount


async def _apply_one(conn: Connection, provider: str, report: StatusUpdate, now: float) -> int:
    cur = await conn.execute(
        "SELECT id, status, provider_status FROM outbox "
        "WHERE provider = ? AND provider_message_id = ?",
        (provider, report.provider_message_id),
    )
    changed = 0
    for row in await cur.fetchall():
        old_rank, new_rank = _RANK[row["status"]], _RANK[report.status]
        if new_rank < old_rank or (new_rank == old_rank and new_rank != 1):
            continue  # never downgrade a final state; the first final report wins
        if new_rank == 1 and row["provider_status"] == report.provider_status:
            continue  # the same "sent" report again
        final = new_rank == 2
        await conn.execute(
            "UPDATE outbox SET status = ?, provider_status = ?, updated_at = ?, "
            "final_at = CASE WHEN ? THEN ? ELSE final_at END, "
            "sent_at = COALESCE(sent_at, ?), lease_until = NULL, "
            f"body = CASE WHEN ? THEN {REDACTED_BODY} ELSE body END WHERE id = ?",
            (report.status, report.provider_status, now, final, now, now, final, row["id"]),
        )
        changed += 1
    return changed


class SqliteDispatch(SqliteBase):
    async def claim_due(self, now: float, limit: int, lease_s: float) -> list[ClaimedSms]:
        async with self.transaction() as conn:
            cur = await conn.execute(_CLAIM, {"now": now, "limit": limit})
            ids = [row[0] for row in await cur.fetchall()]
            if not ids:
                return []
            await conn.executemany(
                "UPDATE outbox SET status = 'sending', lease_until = ?, attempts = attempts + 1, "
                "updated_at = ? WHERE id = ?",
                [(now + lease_s, now, i) for i in ids],
            )
            marks = ", ".join("?" * len(ids))
            cur = await conn.execute(
                "SELECT id, recipient, body, priority, template_id, attempts FROM outbox "
                f"WHERE id IN ({marks}) ORDER BY priority, due_at, rowid",
                ids,
            )
            return [ClaimedSms(*row) for row in await cur.fetchall()]

    async def record_outcomes(self, outcomes: Sequence[SendOutcome], now: float) -> int:
        async with self.transaction() as conn:
            written = 0
            for outcome in outcomes:
                written += await _write_outcome(conn, outcome, now)
            return written

    async def apply_reports(
        self, provider: str, reports: Sequence[StatusUpdate], now: float
    ) -> int:
        async with self.transaction() as conn:
            changed = 0
            for report in reports:
                changed += await _apply_one(conn, provider, report, now)
            return changed

    async def claim_polls(
        self, now: float, sent_before: float, sent_after: float, limit: int
    ) -> dict[str, list[str]]:
        async with self.transaction() as conn:
            cur = await conn.execute(
                "SELECT id, provider, provider_message_id FROM outbox WHERE status = 'sent' "
                "AND sent_at <= ? AND sent_at > ? AND provider_message_id IS NOT NULL "
                "AND COALESCE(polled_at, sent_at) <= ? ORDER BY sent_at LIMIT ?",
                (sent_before, sent_after, sent_before, limit),
            )
            rows = await cur.fetchall()
            await conn.executemany(
                "UPDATE outbox SET polled_at = ? WHERE id = ?", [(now, row[0]) for row in rows]
            )
        due: dict[str, list[str]] = {}
        for row in rows:
            due.setdefault(row[1], []).append(row[2])
        return due

    async def get_notification(self, message_id: str) -> Notification | None:
        async with self.reading() as conn:
            cur = await conn.execute(
                f"SELECT {NOTIFICATION_COLUMNS} FROM outbox WHERE id = ?", (message_id,)
            )
            row = await cur.fetchone()
            return Notification(*row) if row is not None else None
