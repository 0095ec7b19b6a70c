"""Verification codes: the resend interval and the caps, per number and client (one portal's
codes never hold another's), decided under one lock per number so that two requests at once (in
any process) cannot both send; the code's SMS is written
in the same transaction; a check's try is counted before its code is compared, and a
verification is approved at most once."""

from __future__ import annotations

import math

from gateway.storage.audit import append_audit
from gateway.storage.database import Database
from gateway.storage.outbox import insert_outbox
from sessions.records import OutboundSms, Verification, VerifyRules

_COLUMNS = (
    "id, client, mobile, purpose, channel, lang, code_hash, message_id, created_at, expires_at, "
    "status, attempts"
)
HOUR_S, DAY_S = 3600, 24 * 3600


def _wait(oldest: float | None, window_s: int, now: float) -> int:
    """Seconds until the oldest event counted in a rolling window leaves it."""
    return max(1, math.ceil((oldest or now) + window_s - now))


class Verifications:
    db: Database

    async def start_verification(
        self, verification: Verification, sms: OutboundSms, rules: VerifyRules
    ) -> tuple[str, int] | None:
        v, now = verification, verification.created_at
        async with self.db.transaction() as tx:
            await tx.lock(f"verify:{v.mobile}")
            last = await tx.fetchval(
                "SELECT MAX(created_at) FROM verifications WHERE mobile = ? AND purpose = ? "
                "AND client = ? AND created_at > ?",
                v.mobile,
                v.purpose,
                v.client,
                now - rules.resend_after_s,
            )
            if last is not None:
                return "resend_too_soon", _wait(float(last), rules.resend_after_s, now)
            waits = []
            for cap, window_s in ((rules.per_hour, HOUR_S), (rules.per_day, DAY_S)):
                row = await tx.fetchrow(
                    "SELECT COUNT(*), MIN(created_at) FROM verifications "
                    "WHERE mobile = ? AND client = ? AND created_at > ?",
                    v.mobile,
                    v.client,
                    now - window_s,
                )
                if row is not None and int(row[0]) >= cap:
                    # The window frees a send when its oldest code leaves it; with more codes
                    # than the cap in it (a lowered setting) that is the soonest it could be.
                    waits.append(_wait(row[1], window_s, now))
            if waits:
                return "rate_limited", max(waits)  # both full: the later of the two
            # A new code voids the client's earlier ones for this number and purpose, and their
            # SMS still waiting never go out (a stale code would only confuse).
            voided = await tx.fetch(
                "UPDATE verifications SET status = 'voided', decided_at = ? "
                "WHERE mobile = ? AND purpose = ? AND client = ? AND status = 'pending' "
                "RETURNING message_id",
                now,
                v.mobile,
                v.purpose,
                v.client,
            )
            for message_id in sorted(str(row[0]) for row in voided):
                await tx.execute(
                    "UPDATE outbox SET status = 'cancelled', sealed = NULL, final_at = ?, "
                    "updated_at = ?, error = 'voided: a newer code was sent' "
                    "WHERE id = ? AND status = 'queued'",
                    now,
                    now,
                    message_id,
                )
            await tx.execute(
                f"INSERT INTO verifications ({_COLUMNS}) VALUES ({', '.join('?' * 12)})",
                v.id, v.client, v.mobile, v.purpose, v.channel, v.lang, v.code_hash,
                v.message_id, v.created_at, v.expires_at, v.status, v.attempts,
            )  # fmt: skip
            await insert_outbox(tx, [sms])
            await append_audit(tx, "verifications.created", v.id, None, v, personal_target=False)
        return None

    async def get_verification(self, verification_id: str) -> Verification | None:
        async with self.db.reading() as tx:
            row = await tx.fetchrow(
                f"SELECT {_COLUMNS} FROM verifications WHERE id = ?", verification_id
            )
        return Verification(*row) if row is not None else None

    async def count_try(
        self, verification_id: str, client: str, max_attempts: int, now: float
    ) -> tuple[int, str] | None:
        # One statement: of any number of checks at once, only `max_attempts` are ever counted,
        # and only a counted try has the hash to compare with.
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                "UPDATE verifications SET attempts = attempts + 1 "
                "WHERE id = ? AND client = ? AND status = 'pending' AND attempts < ? "
                "AND expires_at > ? RETURNING attempts, code_hash",
                verification_id,
                client,
                max_attempts,
                now,
            )
        return (int(row[0]), str(row[1])) if row is not None else None

    async def approve_verification(self, verification_id: str, now: float) -> bool:
        async with self.db.transaction() as tx:
            # `spent` too: the last wrong try may have spent it while this counted try compared.
            changed = await tx.execute(
                "UPDATE verifications SET status = 'approved', decided_at = ? "
                "WHERE id = ? AND status IN ('pending', 'spent')",
                now,
                verification_id,
            )
            if changed == 1:
                await append_audit(
                    tx,
                    "verifications.approved",
                    verification_id,
                    after={"status": "approved"},
                    personal_target=False,
                )
        return changed == 1

    async def spend_verification(self, verification_id: str, now: float) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE verifications SET status = 'spent', decided_at = ? "
                "WHERE id = ? AND status = 'pending'",
                now,
                verification_id,
            )

    async def verification_counts(self, now: float) -> dict[tuple[str, str], int]:
        async with self.db.reading() as tx:
            rows = await tx.fetch(
                "SELECT purpose, CASE WHEN status = 'pending' AND expires_at <= ? THEN 'expired' "
                "ELSE status END AS outcome, COUNT(*) FROM verifications "
                "GROUP BY purpose, outcome",
                now,
            )
        counts: dict[tuple[str, str], int] = {}
        for purpose, outcome, n in rows:
            counts[(purpose, "sent")] = counts.get((purpose, "sent"), 0) + int(n)
            if outcome != "pending":
                counts[(purpose, outcome)] = int(n)
        return counts
