"""Inbound SMS deduplication in SQLite."""

from __future__ import annotations

from gateway.storage.sqlite_base import SqliteBase


class SqliteInbound(SqliteBase):
    async def claim_inbound(
        self, provider: str, provider_message_id: str, sender: str, now: float
    ) -> bool:
        async with self.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO inbound_sms (provider, provider_message_id, sender, received_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (provider, provider_message_id) DO NOTHING",
                (provider, provider_message_id, sender, now),
            )
            return cur.rowcount == 1

    async def release_inbound(self, provider: str, provider_message_id: str) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "DELETE FROM inbound_sms WHERE provider = ? AND provider_message_id = ?",
                (provider, provider_message_id),
            )

    async def note_inbound_command(
        self, provider: str, provider_message_id: str, command: str
    ) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE inbound_sms SET command = ? WHERE provider = ? AND provider_message_id = ?",
                (command, provider, provider_message_id),
            )
