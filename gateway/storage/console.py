"""The operator's console: its sessions, the outbox at a glance, a message and its timeline, the
operator's requeue and cancel (each in the audit trail with its change), API keys listed."""

from __future__ import annotations

from typing import Any

from gateway.storage.audit import append_audit
from gateway.storage.database import Database
from gateway.storage.dispatch import EVENT
from sessions.ports import OpsSession
from sessions.records import PRIORITY_OTP, ApiKey

_MESSAGE = (
    "SELECT id, recipient, template_id, body, priority, status, source, attempts, due_at, "
    "provider, provider_message_id, provider_status, error, created_at, sent_at, final_at, "
    "expires_at, handed_at FROM outbox"
)
SHOWN = 50
# Sends of the last minute, by the sent index (`sent_at` compared, so its partial WHERE holds).
_SENT_SINCE = (
    "SELECT COUNT(*) FROM outbox WHERE status IN ('sent', 'delivered', 'undelivered') "
    "AND sent_at >= ?"
)


class Console:
    db: Database

    # --- sessions ---------------------------------------------------------------------------

    async def add_ops_session(self, session: OpsSession) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO ops_sessions (token_hash, key_id, client, csrf, created_at, "
                "last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
                session.token_hash,
                session.key_id,
                session.client,
                session.csrf,
                session.created_at,
                session.last_seen_at,
            )

    async def touch_ops_session(
        self, token_hash: str, now: float, idle_s: float
    ) -> OpsSession | None:
        """The session, seen now; None (and it is gone) when unknown or idle past `idle_s`."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM ops_sessions WHERE last_seen_at < ?", now - idle_s)
            row = await tx.fetchrow(
                "UPDATE ops_sessions SET last_seen_at = ? WHERE token_hash = ? "
                "RETURNING token_hash, key_id, client, csrf, created_at, last_seen_at",
                now,
                token_hash,
            )
        return OpsSession(*row) if row is not None else None

    async def end_ops_session(self, token_hash: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM ops_sessions WHERE token_hash = ?", token_hash)

    # --- the outbox -------------------------------------------------------------------------

    async def outbox_overview(self, now: float) -> dict[str, Any]:
        async with self.db.reading() as tx:
            by = await tx.fetch(
                "SELECT status, COALESCE(provider, ''), COUNT(*) FROM outbox "
                "GROUP BY status, provider"
            )
            oldest = await tx.fetchval("SELECT MIN(due_at) FROM outbox WHERE status = 'queued'")
            minute = await tx.fetchval(_SENT_SINCE, now - 60)
            failures = await tx.fetch(
                "SELECT COALESCE(error, ''), COUNT(*) FROM outbox WHERE status = 'failed' "
                "GROUP BY error ORDER BY COUNT(*) DESC LIMIT 20"
            )
            sessions = await tx.fetch(
                "SELECT key, updated_at FROM ussd_sessions WHERE status = 'active' "
                "AND updated_at >= ?",
                now - 180,
            )
        live: dict[str, int] = {}
        recent: dict[str, int] = {}
        for key, updated_at in sessions:
            dialect = str(key).partition(":")[0]
            live[dialect] = live.get(dialect, 0) + 1
            if updated_at >= now - 60:
                recent[dialect] = recent.get(dialect, 0) + 1
        return {
            "counts": [(str(r[0]), str(r[1]), int(r[2])) for r in by],
            "oldest_wait_s": max(0.0, now - float(oldest)) if oldest is not None else None,
            "sent_last_minute": int(minute or 0),
            "failures": [(str(r[0]), int(r[1])) for r in failures],
            "sessions": live,
            "sessions_last_minute": recent,
        }

    async def find_messages(self, term: str, recipient: str | None) -> list[dict[str, Any]]:
        """Messages by id (the local id, also the notification's), provider id or recipient."""
        async with self.db.reading() as tx:
            rows = await tx.fetch_dicts(
                f"{_MESSAGE} WHERE id = ? OR provider_message_id = ? OR recipient = ? "
                "ORDER BY created_at DESC LIMIT ?",
                term,
                term,
                recipient or "",
                SHOWN,
            )
        return rows

    async def message_timeline(
        self, message_id: str
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        async with self.db.reading() as tx:
            found = await tx.fetch_dicts(f"{_MESSAGE} WHERE id = ?", message_id)
            events = await tx.fetch_dicts(
                "SELECT at, kind, attempt, provider, outcome, detail FROM outbox_events "
                "WHERE message_id = ? ORDER BY seq",
                message_id,
            )
        return (found[0] if found else None), events

    async def requeue_message(self, message_id: str, now: float, validity_s: float) -> bool:
        """A failed message goes again now (its validity renewed), unless it carried a code or
        a password (its text is gone; the citizen asks for a new one) or its last outcome was
        unknown (it may have arrived: sending it again could send it twice)."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE outbox SET status = 'queued', due_at = ?, error = NULL, final_at = NULL, "
                "lease_until = NULL, updated_at = ?, expires_at = ? "
                "WHERE id = ? AND status = 'failed' AND priority <> ? AND sealed IS NULL "
                "AND otp IS NULL AND COALESCE(error, '') <> 'unknown_outcome'",
                now,
                now,
                now + validity_s,
                message_id,
                PRIORITY_OTP,
            )
            if changed:
                await tx.execute(EVENT, message_id, now, "requeued", 0, None, "queued", "")
                await append_audit(tx, "notifications.requeued", message_id, {"status": "failed"},
                                   {"status": "queued"}, personal_target=False)  # fmt: skip
        return changed == 1

    async def cancel_message(self, message_id: str, now: float) -> bool:
        """Only a message no dispatcher has claimed: a claimed one may be on its way."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE outbox SET status = 'cancelled', error = 'cancelled by an operator', "
                "final_at = ?, updated_at = ?, lease_until = NULL, sealed = NULL "
                "WHERE id = ? AND status = 'queued'",
                now,
                now,
                message_id,
            )
            if changed:
                await tx.execute(EVENT, message_id, now, "cancelled", 0, None, "cancelled", "")
                await append_audit(tx, "notifications.cancelled", message_id, {"status": "queued"},
                                   {"status": "cancelled"}, personal_target=False)  # fmt: skip
        return changed == 1

    # --- keys and actions -------------------------------------------------------------------

    async def list_api_keys(self) -> list[ApiKey]:
        async with self.db.reading() as tx:
            rows = await tx.fetch(
                "SELECT key_id, name, key_hash, scopes, created_at, revoked FROM api_keys "
                "ORDER BY created_at DESC LIMIT 200"
            )
        return [
            ApiKey(r[0], r[1], r[2], frozenset(s for s in r[3].split(",") if s), r[4], bool(r[5]))
            for r in rows
        ]
