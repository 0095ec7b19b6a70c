"""Inbound SMS deduplication in PostgreSQL: the primary key decides who saw a message first."""

from __future__ import annotations

from gateway.storage.postgres_base import PostgresBase, affected


class PostgresInbound(PostgresBase):
    async def claim_inbound(
        self, provider: str, provider_message_id: str, sender: str, now: float
    ) -> bool:
        async with self.connection() as conn:
            status = await conn.execute(
                "INSERT INTO inbound_sms (provider, provider_message_id, sender, received_at) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (provider, provider_message_id) DO NOTHING",
                provider,
                provider_message_id,
                sender,
                now,
            )
            return affected(status) == 1

    async def release_inbound(self, provider: str, provider_message_id: str) -> None:
        async with self.connection() as conn:
            await conn.execute(
                "DELETE FROM inbound_sms WHERE provider = $1 AND provider_message_id = $2",
                provider,
                provider_message_id,
            )

    async def note_inbound_command(
        self, provider: str, provider_message_id: str, command: str
    ) -> None:
        async with self.connection() as conn:
            await conn.execute(
                "UPDATE inbound_sms SET command = $1 "
                "WHERE provider = $2 AND provider_message_id = $3",
                command,
                provider,
                provider_message_id,
            )
