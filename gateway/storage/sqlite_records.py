"""Registrations, loans and complaints in SQLite; a change and the SMS it owes commit together."""

from __future__ import annotations

from dataclasses import astuple

from gateway.storage.common import RECORD_TABLES, RecordT, record_columns, unchanged
from gateway.storage.sqlite_base import SqliteBase
from gateway.storage.sqlite_conn import Connection
from gateway.storage.sqlite_outbox import insert_outbox
from sessions.ports import Notify, TicketTaken
from sessions.records import Complaint, Loan, Registration


async def _get(conn: Connection, kind: type[RecordT], key: str) -> RecordT | None:
    table, pk = RECORD_TABLES[kind]
    cur = await conn.execute(
        f"SELECT {', '.join(record_columns(kind))} FROM {table} WHERE {pk} = ?", (key,)
    )
    row = await cur.fetchone()
    return kind(*row) if row is not None else None


async def _upsert(conn: Connection, record: RecordT) -> None:
    table, pk = RECORD_TABLES[type(record)]
    cols = record_columns(type(record))
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in (pk, "created_at"))
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        f"ON CONFLICT ({pk}) DO UPDATE SET {updates}",
        astuple(record),
    )


async def _insert_new(conn: Connection, record: Complaint) -> None:
    """Inserts a new complaint; a taken ticket raises `TicketTaken` and leaves that row alone."""
    cols = record_columns(Complaint)
    cur = await conn.execute(
        f"INSERT INTO complaints ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        "ON CONFLICT (ticket) DO NOTHING",
        astuple(record),
    )
    if cur.rowcount != 1:
        raise TicketTaken(record.ticket)


class SqliteRecords(SqliteBase):
    async def _put(self, record: RecordT, notify: Notify[RecordT]) -> tuple[RecordT, bool]:
        _, pk = RECORD_TABLES[type(record)]
        async with self.transaction() as conn:
            old = await _get(conn, type(record), getattr(record, pk))
            if old is not None:
                record.created_at = old.created_at
                if unchanged(old, record):
                    return old, False  # nothing changed: keep the old timestamp, owe nothing
            await _upsert(conn, record)
            await insert_outbox(conn, notify(old, record))
            return record, old is None

    async def get_registration(self, national_id: str) -> Registration | None:
        async with self.reading() as conn:
            return await _get(conn, Registration, national_id)

    async def put_registration(
        self, record: Registration, notify: Notify[Registration]
    ) -> tuple[Registration, bool]:
        return await self._put(record, notify)

    async def get_loan(self, tracking_code: str) -> Loan | None:
        async with self.reading() as conn:
            return await _get(conn, Loan, tracking_code)

    async def loans_for_mobile(self, mobile: str, limit: int) -> list[Loan]:
        async with self.reading() as conn:
            cur = await conn.execute(
                f"SELECT {', '.join(record_columns(Loan))} FROM loans WHERE mobile = ? "
                "ORDER BY updated_at DESC, tracking_code LIMIT ?",
                (mobile, limit),
            )
            return [Loan(*row) for row in await cur.fetchall()]

    async def put_loan(self, record: Loan, notify: Notify[Loan]) -> tuple[Loan, bool]:
        return await self._put(record, notify)

    async def create_complaint(
        self, record: Complaint, max_open: int, notify: Notify[Complaint]
    ) -> Complaint | None:
        async with self.transaction() as conn:
            cur = await conn.execute(
                "SELECT COUNT(*) FROM complaints WHERE msisdn = ? AND status != 'closed'",
                (record.msisdn,),
            )
            row = await cur.fetchone()
            if row is not None and row[0] >= max_open:
                return None
            await _insert_new(conn, record)
            await insert_outbox(conn, notify(None, record))
            return record

    async def count_open_complaints(self, msisdn: str) -> int:
        async with self.reading() as conn:
            cur = await conn.execute(
                "SELECT COUNT(*) FROM complaints WHERE msisdn = ? AND status != 'closed'", (msisdn,)
            )
            row = await cur.fetchone()
            return int(row[0]) if row is not None else 0

    async def get_complaint(self, ticket: str) -> Complaint | None:
        async with self.reading() as conn:
            return await _get(conn, Complaint, ticket)

    async def complaints_for_msisdn(self, msisdn: str, limit: int) -> list[Complaint]:
        async with self.reading() as conn:
            cur = await conn.execute(
                f"SELECT {', '.join(record_columns(Complaint))} FROM complaints WHERE msisdn = ? "
                "ORDER BY created_at DESC, ticket LIMIT ?",
                (msisdn, limit),
            )
            return [Complaint(*row) for row in await cur.fetchall()]

    async def list_complaints(
        self,
        status: str | None,
        created_from: float | None,
        created_to: float | None,
        after: tuple[float, str] | None,
        limit: int,
    ) -> list[Complaint]:
        where: list[str] = []
        args: list[object] = []
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if created_from is not None:
            where.append("created_at >= ?")
            args.append(created_from)
        if created_to is not None:
            where.append("created_at < ?")
            args.append(created_to)
        if after is not None:  # keyset pagination: stable under concurrent inserts
            where.append("(created_at, ticket) > (?, ?)")
            args.extend(after)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        async with self.reading() as conn:
            cur = await conn.execute(
                f"SELECT {', '.join(record_columns(Complaint))} FROM complaints {clause} "
                "ORDER BY created_at, ticket LIMIT ?",
                (*args, limit),
            )
            return [Complaint(*row) for row in await cur.fetchall()]

    async def update_complaint(
        self,
        ticket: str,
        status: str | None,
        answer: str | None,
        now: float,
        notify: Notify[Complaint],
    ) -> Complaint | None:
        async with self.transaction() as conn:
            old = await _get(conn, Complaint, ticket)
            if old is None:
                return None
            new = Complaint(*astuple(old))
            new.status = status if status is not None else old.status
            new.answer = answer if answer is not None else old.answer
            if (new.status, new.answer) == (old.status, old.answer):
                return old
            new.updated_at = now
            await _upsert(conn, new)
            await insert_outbox(conn, notify(old, new))
            return new
