"""The dispatcher's side of the outbox: claims, outcomes, validity, delivery reports, polls and
each provider's health.

Any number of dispatchers, in any number of processes, may share the outbox: a claim takes due
rows (on PostgreSQL `FOR UPDATE SKIP LOCKED`: each row goes to exactly one claimer, none waits for
another) and leases them. A send claim counts the attempt (`attempts`), a check claim the check
(`checks`); an outcome is written only while that very claim holds (same status, same count), so a
dispatcher that lost its lease (it stalled, another pass took over) cannot overwrite the newer one.
A sealed text is dropped as soon as the message has been handed over or has ended.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

from gateway.storage.audit import append_audit
from gateway.storage.database import Database, Row, Tx
from gateway.storage.rows import NOTIFICATION_COLUMNS
from sessions.ports import (
    ClaimedSms,
    Notification,
    ProviderState,
    SendOutcome,
    StatusUpdate,
)
from sessions.records import PRIORITY_BULK, PRIORITY_OTP, PRIORITY_TRANSACTIONAL

# queued/sending/unknown < sent < a final state: a report may only move a message up this scale.
_RANK = {"queued": 0, "sending": 0, "unknown": 0, "sent": 1}
_FINAL = ("delivered", "undelivered", "failed", "cancelled")
_RANK.update({status: 2 for status in _FINAL})

_CLAIMED = "id, recipient, body, sealed, priority, template_id"


def _claim_sql(skip_locked: str) -> str:
    """Due messages of one priority, in the order of its index range (due time, then queue
    order): a claim reads only the rows it takes, however long the backlog; never an OR over two
    indexes, never a sort of every due row."""
    return (
        "UPDATE outbox SET status = 'sending', lease_until = ?, attempts = attempts + 1, "
        "provider = ?, handed_at = ?, updated_at = ? "
        "WHERE id IN (SELECT id FROM outbox WHERE status = 'queued' AND priority = ? "
        f"AND due_at <= ? ORDER BY due_at, seq LIMIT ?{skip_locked}) "
        f"RETURNING {_CLAIMED}, attempts, provider, handed_at, expires_at, due_at, seq, otp"
    )


def _check_sql(skip_locked: str, lapsed: bool, excluded: int) -> str:
    """Unknown outcomes due for a check (by due time), or sends whose lease ran out (by its end:
    their dispatcher died while the request may have been out), but not the `excluded` ids (the
    claimer's own sends still in flight). Leased: `lease_until` is the check's, and `due_at` moves
    past it, so nobody else checks it before the lease ends."""
    skip = f"AND id NOT IN ({', '.join('?' * excluded)}) " if excluded else ""
    if lapsed:
        due = (
            f"status = 'sending' AND lease_until <= ? {skip}ORDER BY lease_until "
            f"LIMIT ?{skip_locked}"
        )
    else:
        # Codes first, as in the claim: the priority index's order, its `unknown` rows few.
        due = (
            f"status = 'unknown' AND due_at <= ? {skip}ORDER BY priority, due_at, seq "
            f"LIMIT ?{skip_locked}"
        )
    return (
        "UPDATE outbox SET status = 'unknown', checks = checks + 1, due_at = ?, "
        "lease_until = ?, handed_at = COALESCE(handed_at, updated_at), updated_at = ? "
        f"WHERE id IN (SELECT id FROM outbox WHERE {due}) "
        f"RETURNING {_CLAIMED}, checks, provider, handed_at, expires_at, due_at, seq, otp"
    )


def _twins_sql(numbers: int) -> str:
    """Messages to these numbers on their way to a provider or unknown there, codes aside (never
    looked for by their text): by the recipient index (a number's own few rows) or the status
    one (the few in flight), never by the provider (every message it ever sent); the provider is
    compared on the rows found."""
    return (
        "SELECT id, recipient, body, provider FROM outbox "
        f"WHERE recipient IN ({', '.join('?' * numbers)}) AND status IN ('sending', 'unknown') "
        "AND otp IS NULL"
    )


def _polls_sql(skip_locked: str) -> str:
    """Sends whose provider was last asked (or that were sent) before the poll is due, oldest
    first: by the sent index's range (`sent_at` compared, so its partial WHERE holds)."""
    return (
        "UPDATE outbox SET polled_at = ? WHERE id IN (SELECT id FROM outbox "
        "WHERE status = 'sent' AND sent_at <= ? AND sent_at > ? "
        "AND provider_message_id IS NOT NULL AND COALESCE(polled_at, sent_at) <= ? "
        f"ORDER BY sent_at LIMIT ?{skip_locked}) "
        "RETURNING provider, provider_message_id, sent_at, seq"
    )


# A provider's id for its messages (a report's): by the provider id index, which holds only the
# messages that have one (an id compared is never NULL, so its partial WHERE holds).
_REPORTED = (
    "SELECT id, status, provider_status FROM outbox "
    "WHERE provider = ? AND provider_message_id = ? ORDER BY id"
)


def _expire_sql(skip_locked: str) -> str:
    # A message under a check's lease is its holder's to record: it ends after the check.
    held = {"queued": "", "unknown": "AND (lease_until IS NULL OR lease_until <= ?) "}
    ranges = " UNION ALL ".join(
        f"SELECT * FROM (SELECT id FROM outbox WHERE status = '{status}' AND expires_at <= ? "
        f"{held[status]}ORDER BY expires_at LIMIT ?{skip_locked}) AS {status}"
        for status in ("queued", "unknown")
    )
    return (
        "UPDATE outbox SET error = CASE WHEN status = 'unknown' THEN "
        "'unknown_outcome: its validity ended before the provider could say whether it sent it' "
        "ELSE 'expired: its validity ended before it could be sent' END, "
        "status = 'failed', final_at = ?, updated_at = ?, lease_until = NULL, sealed = NULL "
        f"WHERE id IN (SELECT id FROM ({ranges}) AS ended)"
    )


def _token(check: bool) -> str:
    """The claim an outcome belongs to: still in its state, with its count unchanged; a check's
    lease not yet run out (past it, another dispatcher may be checking it)."""
    if check:
        return "status = 'unknown' AND checks = ? AND lease_until >= ?"
    return "status = 'sending' AND attempts = ?"


def _outcome_sql(status: str, check: bool) -> str:
    where = f"WHERE id = ? AND {_token(check)}"
    if status == "sent":
        return (
            "UPDATE outbox SET status = 'sent', provider = ?, provider_message_id = ?, "
            "provider_status = ?, cost = ?, error = NULL, lease_until = NULL, sent_at = ?, "
            f"updated_at = ?, sealed = NULL {where}"
        )
    if status == "queued":
        return (
            "UPDATE outbox SET status = 'queued', due_at = ?, error = ?, "
            "provider = COALESCE(?, provider), lease_until = NULL, updated_at = ?, "
            f"attempts = attempts - ? {where}"
        )
    if status == "unknown":
        return (
            "UPDATE outbox SET status = 'unknown', due_at = ?, error = ?, "
            f"provider = COALESCE(?, provider), lease_until = NULL, updated_at = ? {where}"
        )
    return (
        "UPDATE outbox SET status = 'failed', error = ?, provider = COALESCE(?, provider), "
        "provider_message_id = COALESCE(?, provider_message_id), cost = COALESCE(?, cost), "
        "provider_status = COALESCE(?, provider_status), lease_until = NULL, final_at = ?, "
        f"updated_at = ?, sealed = NULL {where}"
    )


_REPORT = (
    "UPDATE outbox SET status = ?, provider_status = ?, updated_at = ?, "
    "final_at = CASE WHEN ? THEN ? ELSE final_at END, "
    "sent_at = COALESCE(sent_at, ?), lease_until = NULL, "
    "sealed = CASE WHEN ? THEN NULL ELSE sealed END WHERE id = ?"
)
_PENDING = (
    "INSERT INTO pending_reports (provider, provider_message_id, status, provider_status, "
    "received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (provider, provider_message_id) DO UPDATE "
    "SET status = excluded.status, provider_status = excluded.provider_status, "
    "received_at = excluded.received_at"
)
# The row beside a provider's health that holds its clock alert.
_CLOCK = "#clock"
# A report kept for a send not recorded yet is dropped after this: no send is recorded so late.
PENDING_KEPT_S = 48 * 3600


EVENT = (
    "INSERT INTO outbox_events (message_id, at, kind, attempt, provider, outcome, detail) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


async def _write_outcome(tx: Tx, o: SendOutcome, now: float) -> int:
    sql = _outcome_sql(o.status, o.check)
    if o.status == "sent":
        args: tuple[object, ...] = (
            o.provider, o.provider_message_id, o.provider_status, o.cost, now, now,
        )  # fmt: skip
    elif o.status == "queued":
        due = o.due_at if o.due_at is not None else now
        args = (due, o.error, o.provider, now, 1 if o.refund and not o.check else 0)
    elif o.status == "unknown":
        due = o.due_at if o.due_at is not None else now
        args = (due, o.error, o.provider, now)
    else:
        args = (
            o.error, o.provider, o.provider_message_id, o.cost, o.provider_status, now, now,
        )  # fmt: skip
    token: tuple[object, ...] = (o.id, o.attempt, now) if o.check else (o.id, o.attempt)
    written = await tx.execute(sql, *args, *token)
    if written:  # the message's timeline (the console): this attempt and the provider's answer
        detail = " ".join(filter(None, (o.provider_status, o.error)))
        kind = "check" if o.check else "attempt"
        await tx.execute(EVENT, o.id, now, kind, o.attempt, o.provider, o.status, detail)
    if written and o.status == "sent" and o.provider and o.provider_message_id:
        await _apply_pending(tx, o.provider, o.provider_message_id, now)
    return written


async def _apply_pending(tx: Tx, provider: str, provider_message_id: str, now: float) -> None:
    """A delivery report that came before this send was recorded is applied now."""
    row = await tx.fetchrow(
        "SELECT status, provider_status FROM pending_reports "
        "WHERE provider = ? AND provider_message_id = ?",
        provider,
        provider_message_id,
    )
    if row is None:
        return
    await tx.execute(
        "DELETE FROM pending_reports WHERE provider = ? AND provider_message_id = ?",
        provider,
        provider_message_id,
    )
    report = StatusUpdate(provider_message_id, row[0], row[1])
    await _apply_one(tx, provider, report, now, keep_unmatched=False)


async def _apply_one(
    tx: Tx, provider: str, report: StatusUpdate, now: float, *, keep_unmatched: bool = True
) -> int:
    rows = await tx.fetch(_REPORTED, provider, report.provider_message_id)
    if not rows and keep_unmatched:
        # Its send's outcome is not recorded yet (the answer is still on its way, or is being
        # checked): kept, and applied when it is.
        await tx.execute(
            _PENDING, provider, report.provider_message_id, report.status,
            report.provider_status, now,
        )  # fmt: skip
        return 0
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
        await tx.execute(
            EVENT, message_id, now, "report", 0, provider, report.status, report.provider_status
        )
        changed += 1
    return changed


def _claimed(row: Row, check: bool) -> ClaimedSms:
    sealed = bytes(row[3]) if row[3] is not None else None
    expires_at = row[9] if row[9] is not None else float("inf")
    return ClaimedSms(
        row[0], row[1], row[2], sealed, row[4], row[5], row[6], row[7] or "", row[8] or 0.0,
        expires_at, check, row[12],
    )  # fmt: skip


class Dispatch:
    db: Database

    async def claim_due(
        self,
        now: float,
        limit: int,
        lease_s: float,
        provider: str,
        route: Callable[[str], str | None] | None = None,
    ) -> list[ClaimedSms]:
        sql = _claim_sql(self.db.skip_locked)
        claimed: list[Row] = []
        async with self.db.transaction() as tx:
            for priority in (PRIORITY_OTP, PRIORITY_TRANSACTIONAL, PRIORITY_BULK):
                left = limit - len(claimed)
                if left <= 0:
                    break
                rows = await tx.fetch(sql, now + lease_s, provider, now, now, priority, now, left)
                claimed.extend(sorted(rows, key=lambda r: (r[10], r[11])))  # due_at, seq
            out = [_claimed(row, check=False) for row in claimed]
            if route is not None:
                # Each message's own route, in the claim's transaction: whoever checks a send
                # whose dispatcher died asks the provider it really went to.
                routed = []
                for claim in out:
                    name = route(claim.recipient)
                    if name is not None and name != claim.provider:
                        await tx.execute(
                            "UPDATE outbox SET provider = ? WHERE id = ?", name, claim.id
                        )
                        claim = replace(claim, provider=name)
                    routed.append(claim)
                out = routed
        return out

    async def reassign(self, message_id: str, attempt: int, provider: str) -> bool:
        """Moves a claimed message, not yet handed over, to the next route's provider."""
        async with self.db.transaction() as tx:
            moved = await tx.execute(
                "UPDATE outbox SET provider = ? WHERE id = ? AND status = 'sending' "
                "AND attempts = ?",
                provider,
                message_id,
                attempt,
            )
        return moved == 1

    async def claim_unknown(
        self, now: float, limit: int, lease_s: float, exclude: Collection[str] = ()
    ) -> list[ClaimedSms]:
        skip = sorted(exclude)
        claimed: list[Row] = []
        async with self.db.transaction() as tx:
            for lapsed in (False, True):
                left = limit - len(claimed)
                if left <= 0:
                    break
                sql = _check_sql(self.db.skip_locked, lapsed, len(skip))
                lease = now + lease_s
                claimed.extend(await tx.fetch(sql, lease, lease, now, now, *skip, left))
        claimed.sort(key=lambda r: (r[8] or 0.0, r[11]))  # handed_at, seq
        return [_claimed(row, check=True) for row in claimed]

    async def record_outcomes(self, outcomes: Sequence[SendOutcome], now: float) -> int:
        async with self.db.transaction() as tx:
            written = 0
            for outcome in sorted(outcomes, key=lambda o: o.id):  # one lock order for all
                written += await _write_outcome(tx, outcome, now)
            return written

    async def expire_due(self, now: float, limit: int) -> int:
        async with self.db.transaction() as tx:
            ended = await tx.execute(
                _expire_sql(self.db.skip_locked), now, now, now, limit, now, now, limit
            )
            await tx.execute(
                "DELETE FROM pending_reports WHERE received_at < ?", now - PENDING_KEPT_S
            )
            return ended

    async def provider_ids_near(
        self, provider: str, recipients: Sequence[str], since: float, until: float
    ) -> set[str]:
        if not recipients:
            return set()
        marks = ", ".join("?" * len(recipients))
        async with self.db.reading() as tx:
            rows = await tx.fetch(
                "SELECT provider_message_id FROM outbox WHERE provider = ? "
                f"AND recipient IN ({marks}) AND handed_at >= ? AND handed_at <= ? "
                "AND provider_message_id IS NOT NULL",
                provider,
                *recipients,
                since,
                until,
            )
        return {str(row[0]) for row in rows}

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
                _polls_sql(self.db.skip_locked),
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

    async def provider_states(self) -> dict[str, ProviderState]:
        async with self.db.reading() as tx:
            rows = await tx.fetch(
                "SELECT name, state, reason, manual, since, probe_at, failures FROM provider_states"
            )
        return {
            row[0]: ProviderState(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6])
            for row in rows
            if not row[0].endswith(_CLOCK)
        }

    async def twins_in_flight(
        self, provider: str, ids: Sequence[str], recipients: Sequence[str]
    ) -> set[tuple[str, str]]:
        if not recipients:
            return set()
        numbers = sorted(set(recipients))
        async with self.db.reading() as tx:
            rows = await tx.fetch(_twins_sql(len(numbers)), *numbers)
        mine = set(ids)
        return {(row[1], row[2]) for row in rows if row[3] == provider and row[0] not in mine}

    async def set_clock_skew(self, provider: str, skew_s: float | None, now: float) -> None:
        # Kept beside the provider's health, as a row of its own: `failing` while the clock is
        # off (the skew in `reason`), `active` once it is back.
        state = "active" if skew_s is None else "failing"
        reason = "" if skew_s is None else f"{skew_s:.3f}"
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO provider_states (name, state, reason, manual, since, probe_at, "
                "failures) VALUES (?, ?, ?, 0, ?, NULL, 0) ON CONFLICT (name) DO UPDATE SET "
                "state = excluded.state, reason = excluded.reason, since = excluded.since",
                provider + _CLOCK,
                state,
                reason,
                now,
            )

    async def clock_skews(self) -> dict[str, float]:
        async with self.db.reading() as tx:
            rows = await tx.fetch(
                "SELECT name, reason FROM provider_states WHERE state = 'failing'"
            )
        skews: dict[str, float] = {}
        for name, reason in rows:
            if name.endswith(_CLOCK):
                with contextlib.suppress(ValueError):
                    skews[name[: -len(_CLOCK)]] = float(reason)
        return skews

    async def set_provider_state(self, state: ProviderState, by_hand: bool = False) -> bool:
        async with self.db.transaction() as tx:
            return (
                await tx.execute(
                    "INSERT INTO provider_states (name, state, reason, manual, since, probe_at, "
                    "failures) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                    "state = excluded.state, reason = excluded.reason, manual = excluded.manual, "
                    "since = excluded.since, probe_at = excluded.probe_at, "
                    "failures = excluded.failures "
                    "WHERE provider_states.manual = 0 OR ?",
                    state.name,
                    state.state,
                    state.reason,
                    int(state.manual),
                    state.since,
                    state.probe_at,
                    state.failures,
                    by_hand,
                )
                == 1
            )

    async def cancel_notification(
        self, message_id: str, source: str, now: float
    ) -> Notification | None:
        async with self.db.transaction() as tx:
            # Only a queued message: a claimed one (`sending`) may be on its way to the provider.
            cancelled = await tx.execute(
                "UPDATE outbox SET status = 'cancelled', error = 'cancelled by its sender', "
                "final_at = ?, updated_at = ?, lease_until = NULL, sealed = NULL "
                "WHERE id = ? AND source = ? AND status = 'queued'",
                now,
                now,
                message_id,
                source,
            )
            if cancelled == 1:
                await append_audit(
                    tx,
                    "notifications.cancelled",
                    message_id,
                    {"status": "queued"},
                    {"status": "cancelled"},
                    personal_target=False,
                )
            row = await tx.fetchrow(
                f"SELECT {NOTIFICATION_COLUMNS} FROM outbox WHERE id = ? AND source = ?",
                message_id,
                source,
            )
        return Notification(*row) if row is not None else None

    async def get_notification(self, message_id: str, source: str) -> Notification | None:
        async with self.db.reading() as tx:
            row = await tx.fetchrow(
                f"SELECT {NOTIFICATION_COLUMNS} FROM outbox WHERE id = ? AND source = ?",
                message_id,
                source,
            )
        return Notification(*row) if row is not None else None

    async def find_notifications(
        self,
        source: str,
        *,
        recipient: str | None = None,
        statuses: tuple[str, ...] = (),
        template_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        after: tuple[float, str] | None = None,
        limit: int = 50,
    ) -> list[Notification]:
        clause = "source = ?"
        args: list[object] = [source]
        if recipient is not None:
            clause += " AND recipient = ?"
            args.append(recipient)
        if statuses:
            clause += f" AND status IN ({', '.join('?' * len(statuses))})"
            args.extend(statuses)
        if template_id is not None:
            clause += " AND template_id = ?"
            args.append(template_id)
        if since is not None:
            clause += " AND created_at >= ?"
            args.append(float(since))
        if until is not None:
            clause += " AND created_at < ?"
            args.append(float(until))
        if after is not None:  # keyset: newest first, stable under concurrent inserts
            clause += " AND (created_at, id) < (?, ?)"
            args.extend((float(after[0]), after[1]))
        async with self.db.reading() as tx:
            rows = await tx.fetch(
                f"SELECT {NOTIFICATION_COLUMNS} FROM outbox WHERE {clause} "
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                *args,
                limit,
            )
        return [Notification(*row) for row in rows]
