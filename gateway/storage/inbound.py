"""Inbound SMS deduplication: the primary key decides who took a message first."""

from __future__ import annotations

from gateway.storage.database import Database


class Inbound:
    db: Database

    async def inbound_seen(self, provider: str, provider_message_id: str) -> bool:
        async with self.db.reading() as tx:
            row = await tx.fetchrow(
                "SELECT 1 FROM inbound_sms WHERE provider = ? AND provider_message_id = ?",
                provider,
                provider_message_id,
            )
        return row is not None

    async def claim_inbound(
        self, provider: str, provider_message_id: str, sender: str, now: float, command: str
    ) -> bool:
        async with self.db.transaction(savepoint=False) as tx:  # one statement
            taken = await tx.execute(
                "INSERT INTO inbound_sms (provider, provider_message_id, sender, command, "
                "received_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (provider, provider_message_id) DO NOTHING",
                provider,
                provider_message_id,
                sender,
                command,
                now,
            )
        return taken == 1
