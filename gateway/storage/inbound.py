"""Inbound SMS deduplication: the primary key decides who saw a message first."""

from __future__ import annotations

from gateway.storage.database import Database


class Inbound:
    db: Database

    async def claim_inbound(
        self, provider: str, provider_message_id: str, sender: str, now: float
    ) -> bool:
        async with self.db.transaction() as tx:
            return (
                await tx.execute(
                    "INSERT INTO inbound_sms (provider, provider_message_id, sender, received_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (provider, provider_message_id) DO NOTHING",
                    provider,
                    provider_message_id,
                    sender,
                    now,
                )
                == 1
            )

    async def release_inbound(self, provider: str, provider_message_id: str) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM inbound_sms WHERE provider = ? AND provider_message_id = ?",
                provider,
                provider_message_id,
            )

    async def note_inbound_command(
        self, provider: str, provider_message_id: str, command: str
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE inbound_sms SET command = ? WHERE provider = ? AND provider_message_id = ?",
                command,
                provider,
                provider_message_id,
            )
