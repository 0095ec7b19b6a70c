"""The outbox in SQLite: messages are written inside the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiosqlite

from gateway.storage.sqlite_base import SqliteBase
from sessions.records import OutboundSms

_INSERT = (
    "INSERT INTO outbox (id, recipient, template_id, lang, params, body, priority, status, source, "
    "due_at, callback_url, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)"
)


async def insert_outbox(conn: aiosqlite.Connection, messages: Sequence[OutboundSms]) -> None:
    """Writes messages with the connection of a transaction that is already open."""
    await conn.executemany(
        _INSERT,
        [
            (
                m.id,
                m.recipient,
                m.template_id,
                m.lang,
                json.dumps(m.params, ensure_ascii=False),
                m.body,
                m.priority,
                m.source,
                m.due_at,
                m.callback_url,
                m.created_at,
                m.created_at,
            )
            for m in messages
        ],
    )


class SqliteOutbox(SqliteBase):
    async def enqueue(self, messages: Sequence[OutboundSms]) -> None:
        async with self.transaction() as conn:
            await insert_outbox(conn, messages)

    async def outbox_messages(self, recipient: str | None = None) -> list[dict[str, Any]]:
        async with self.reading() as conn:
            if recipient is None:
                cur = await conn.execute("SELECT * FROM outbox ORDER BY created_at, rowid")
            else:
                cur = await conn.execute(
                    "SELECT * FROM outbox WHERE recipient = ? ORDER BY created_at, rowid",
                    (recipient,),
                )
            return [dict(row) for row in await cur.fetchall()]
