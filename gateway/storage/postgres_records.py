"""Registrations, loans and complaints in PostgreSQL; a change and the SMS it owes commit together.

A write first takes a transaction-scoped advisory lock on its record (or, for a new complaint, on
its number): two processes changing one record run one after the other, as they do in SQLite, so
"created" and the SMS a change owes are decided once.
"""

from __future__ import annotations

from dataclasses import astuple

from gateway.storage.common import RECORD_TABLES, RecordT, record_columns, unchanged
from gateway.storage.postgres_base import Connection, PostgresBase, affected, xact_lock
from gateway.storage.postgres_outbox import insert_outbox
from sessions.ports import Notify, TicketTaken
from sessions.records import Complaint, Loan, Registration


def _marks(n: int, start: int = 1) -> str:
    return ", ".join(f"${i}" for i in range(start, start + n))


async def _get(conn: Connection, kind: type[RecordT], key: str) -> RecordT | None:
    table, pk = RECORD_TABLES[kind]
    row = await conn.fetchrow(
        f"SELECT {', '.join(record_columns(kind))} FROM {table} WHERE {pk} = $1", key
    )
    return kind(*row) if row is not None else None


async def _upsert(conn: Connection, record: RecordT) -> None:
    table, pk = RECORD_TABLES[type(record)]
    cols = record_columns(type(record))
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in (pk, "created_at"))
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({_marks(len(cols))}) "
        f"ON CONFLICT ({pk}) DO UPDATE SET {updates}",
        *astuple(record),
    )


async def _insert_new(conn: Connection, record: Complaint) -> None:
    """Inserts a new complaint; a taken ticket raises `TicketTaken` and leaves that row alone."""
    cols = record_columns(Complaint)
    status = await conn.execute(
        f"INSERT INTO complaints ({', '.join(cols)}) VALUES ({_marks(len(cols))}) "
        "ON CONFLICT (ticket) DO NOTHING",
        *astuple(record),
    )
    if affected(status) != 1:
        raise TicketTaken(record.ticket)


class PostgresRecords(PostgresBase):
    async def _put(self, record: RecordT, notify: Notify[RecordT]) -> tuple[RecordT, bool]:
        table, pk = RECORD_TABLES[type(record)]
        key = getattr(record, pk)
        async with self.transaction() as conn:
            await xact_lock(conn, f"{table}:{key}")
            old = await _get(conn, type(record), key)
            if old is not None:
                record.created_at = old.created_at
                if unchanged(old, record):
                    return old, False  # nothing changed: keep the old timestamp, owe nothing
            await _upsert(conn, record)
            await insert_outbox(conn, notify(old, record))
            return record, old is None

    async def get_registration(self, national_id: str) -> Registration | None:
        async with self.connection() as conn:
            return await _get(conn, Registration, national_id)

    async def put_registration(
        self, record: Registration, notify: Notify[Registration]
    ) -> tuple[Registration, bool]:
        return await self._put(record, notify)

    async def get_loan(self, tracking_code: str) -> Loan | None:
        async with self.connection() as conn:
            return await _get(conn, Loan, tracking_code)

    async def loans_for_mobile(self, mobile: str, limit: int) -> list[Loan]:
        async with self.connection() as conn:
            rows = await conn.fetch(
                f"SELECT {', '.join(record_columns(Loan))} FROM loans WHERE mobile = $1 "
                "ORDER BY updated_at DESC, tracking_code LIMIT $2",
                mobile,
                limit,
            )
        return [Loan(*row) for row in rows]

    async def put_loan(self, record: Loan, notify: Notify[Loan]) -> tuple[Loan, bool]:
        return await self._put(record, notify)

    async def create_complaint(
        self, record: Complaint, max_open: int, notify: Notify[Complaint]
    ) -> Complaint | None:
        async with self.transaction() as conn:
            # The open-ticket limit counts rows that a concurrent filing may be adding right now.
            await xact_lock(conn, f"complaints-of:{record.msisdn}")
            count = await conn.fetchval(
                "SELECT COUNT(*) FROM complaints WHERE msisdn = $1 AND status != 'closed'",
                record.msisdn,
            )
            if count >= max_open:
                return None
            await _insert_new(conn, record)
            await insert_outbox(conn, notify(None, record))
            return record

    async def count_open_complaints(self, msisdn: str) -> int:
        async with self.connection() as conn:
            count = await conn.fetchval(
                "SELECT COUNT(*) FROM complaints WHERE msisdn = $1 AND status != 'closed'", msisdn
            )
        return int(count)

    async def get_complaint(self, ticket: str) -> Complaint | None:
        async with self.connection() as conn:
            return await _get(conn, Complaint, ticket)

    async def complaints_for_msisdn(self, msisdn: str, limit: int) -> list[Complaint]:
        async with self.connection() as conn:
            rows = await conn.fetch(
                f"SELECT {', '.join(record_columns(Complaint))} FROM complaints WHERE msisdn = $1 "
                "ORDER BY created_at DESC, ticket LIMIT $2",
                msisdn,
                limit,
            )
        return [Complaint(*row) for row in rows]

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

        def mark(value: object) -> str:
            args.append(value)
            return f"${len(args)}"

        if status is not None:
            where.append(f"status = {mark(status)}")
        if created_from is not None:
            where.append(f"created_at >= {mark(float(created_from))}")
        if created_to is not None:
            where.append(f"created_at < {mark(float(created_to))}")
        if after is not None:  # keyset pagination: stable under concurrent inserts
            where.append(f"(created_at, ticket) > ({mark(float(after[0]))}, {mark(after[1])})")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        async with self.connection() as conn:
            rows = await conn.fetch(
                f"SELECT {', '.join(record_columns(Complaint))} FROM complaints {clause} "
                f"ORDER BY created_at, ticket LIMIT {mark(limit)}",
                *args,
            )
        return [Complaint(*row) for row in rows]

    async def update_complaint(
        self,
        ticket: str,
        status: str | None,
        answer: str | None,
        now: float,
        notify: Notify[Complaint],
    ) -> Complaint | None:
        async with self.transaction() as conn:
            await xact_lock(conn, f"complaints:{ticket}")
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
