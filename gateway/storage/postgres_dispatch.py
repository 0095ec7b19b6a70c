"""The dispatcher's side of the outbox in PostgreSQL: leases, send results, delivery reports, polls.

Any number of dispatchers, in any number of processes, share the outbox: a claim takes due rows
with `FOR UPDATE SKIP LOCKED` (each row goes to exactly one claimer; none waits for another) and
leases them by counting the attempt. A result is written only while that very claim holds
(status `sending`, same attempt), so a dispatcher that lost its lease cannot overwrite the newer
outcome.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.storage.common import NOTIFICATION_COLUMNS, REDACTED_BODY
from gateway.storage.postgres_base import Connection, PostgresBase, affected
from sessions.ports import ClaimedSms, Notification, SendOutcome, StatusUpdate

# Codes and passwords must not stay readable in a database dump once they have gone out.

# queued/sending < sent < a final state: a report may only move a message up this scale.
_RANK = {"queued": 0, "sending": 0, "sent": 1, "delivered": 2, "undelivered": 2, "failed": 2}

_CLAIM = (
    "WITH due AS (SELECT id FROM outbox WHERE (status = 'queued' AND due_at <= $1) "
    "OR (status = 'sending' AND lease_until <= $1) "
    "ORDER BY priority, due_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED) "
    "UPDATE outbox o SET status = 'sending', lease_until = $3, attempts = o.attempts + 1, "
    "updated_at = $1 FROM due WHERE o.id = due.id "
    "RETURNING o.id, o.recipient, o.body, o.priority, o.template_id, o.attempts, o.due_at, o.seq"
)

_SENT = (
    "UPDATE outbox SET status = 'sent', provider = $1, provider_message_id = $2, "
    "provider_status = $3, cost = $4, error = NULL, lease_until = NULL, sent_at = $5, "
    f"updated_at = $5, body = {REDACTED_BODY} "
    "WHERE id = $6 AND status = 'sending' AND attempts = $7"
)
_RETRY = (
    "UPDATE outbox SET status = 'queued', due_at = $1, error = $2, "
    "provider = COALESCE($3, provider), lease_until = NULL, updated_at = $4 "
    "WHERE id = $5 AND status = 'sending' AND attempts = $6"
)
_FAILED = (
    "UPDATE outbox SET status = 'failed', error = $1, provider = COALESCE($2, provider), "
    "provider_message_id = COALESCE($3, provider_message_id), cost = COALESCE($4, cost), "
    "provider_status = COALESCE($5, provider_status), lease_until = NULL, final_at = $6, "
    f"updated_at = $6, body = {REDACTED_BODY} "
    "WHERE id = $7 AND status = 'sending' AND attempts = $8"
)


async def _write_outcome(conn: Connection, o: SendOutcome, now: float) -> int:
    if o.status == "sent":
        status = await conn.execute(
            _SENT,
            o.provider,
            o.provider_message_id,
            o.provider_status,
            o.cost,
            now,
            o.id,
            o.attempt,
        )
    elif o.status == "queued":
        due = o.due_at if o.due_at is not None else now
        status = await conn.execute(_RETRY, due, o.error, o.provider, now, o.id, o.attempt)
    else:
        status = await conn.execute(
            _FAILED,
            o.error,
            o.provider,
            o.provider_message_id,
            o.cost,
            o.provider_status,
            now,
            o.id,
            o.attempt,
        )
    return affected(status)


async def _apply_one(conn: Connection, provider: str, report: StatusUpdate, now: float) -> int:
    rows = await conn.fetch(
        "SELECT id, status, provider_status FROM outbox "
        "WHERE provider = $1 AND provider_message_id = $2 ORDER BY id FOR UPDATE",
        provider,
        report.provider_message_id,
    )
    changed = 0
    for row in rows:
        old_rank, new_rank = _RANK[row["status"]], _RANK[report.status]
        if new_rank < old_rank or (new_rank == old_rank and new_rank != 1):
            continue  # never downgrade a final state; the first final report wins
        if new_rank == 1 and row["provider_status"] == report.provider_status:
            continue  # the same "sent" report again
        final = new_rank == 2
        await conn.execute(
            "UPDATE outbox SET status = $1, provider_status = $2, updated_at = $3, "
            "final_at = CASE WHEN $4 THEN $3 ELSE final_at END, "
            "sent_at = COALESCE(sent_at, $3), lease_until = NULL, "
            f"body = CASE WHEN $4 THEN {REDACTED_BODY} ELSE body END WHERE id = $5",
            report.status,
            report.provider_status,
            now,
            final,
            row["id"],
        )
        changed += 1
    return changed


class PostgresDispatch(PostgresBase):
    async def claim_due(self, now: float, limit: int, lease_s: float) -> list[ClaimedSms]:
        async with self.connection() as conn:  # one statement: select, lock and lease at once
            rows = await conn.fetch(_CLAIM, now, limit, now + lease_s)
        rows = sorted(rows, key=lambda r: (r["priority"], r["due_at"], r["seq"]))
        return [ClaimedSms(*row[:6]) for row in rows]

    async def record_outcomes(self, outcomes: Sequence[SendOutcome], now: float) -> int:
        async with self.transaction() as conn:
            written = 0
            for outcome in sorted(outcomes, key=lambda o: o.id):  # one lock order for all
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
        async with self.connection() as conn:
            rows = await conn.fetch(
                "WITH due AS (SELECT id FROM outbox WHERE status = 'sent' "
                "AND sent_at <= $1 AND sent_at > $2 AND provider_message_id IS NOT NULL "
                "AND COALESCE(polled_at, sent_at) <= $1 ORDER BY sent_at LIMIT $3 "
                "FOR UPDATE SKIP LOCKED) "
                "UPDATE outbox o SET polled_at = $4 FROM due WHERE o.id = due.id "
                "RETURNING o.provider, o.provider_message_id, o.sent_at, o.seq",
                sent_before,
                sent_after,
                limit,
                now,
            )
        due: dict[str, list[str]] = {}
        for row in sorted(rows, key=lambda r: (r["sent_at"], r["seq"])):
            due.setdefault(row["provider"], []).append(row["provider_message_id"])
        return due

    async def get_notification(self, message_id: str) -> Notification | None:
        async with self.connection() as conn:
            row = await conn.fetchrow(
                f"SELECT {NOTIFICATION_COLUMNS} FROM outbox WHERE id = $1", message_id
            )
        return Notification(*row) if row is not None else None
