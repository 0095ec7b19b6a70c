"""The console provider's own inbox: the texts it "delivered", sealed, newest kept for a day."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.storage.database import Database
from sessions.ports import ConsoleSms


class ConsoleInbox:
    db: Database

    async def keep_console_sms(self, messages: Sequence[ConsoleSms], keep_after: float) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM console_inbox WHERE received_at < ?", keep_after)
            await tx.executemany(
                "INSERT INTO console_inbox (recipient, local_id, message_id, sealed, received_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (m.recipient, m.local_id, m.message_id, m.sealed, m.received_at)
                    for m in messages
                ],
            )

    async def console_sms(self, recipient: str, limit: int) -> list[ConsoleSms]:
        async with self.db.reading() as tx:
            rows = await tx.fetch(
                "SELECT recipient, local_id, message_id, sealed, received_at FROM console_inbox "
                "WHERE recipient = ? ORDER BY seq DESC LIMIT ?",
                recipient,
                limit,
            )
        return [ConsoleSms(r[0], r[1], r[2], bytes(r[3]), float(r[4])) for r in rows]
