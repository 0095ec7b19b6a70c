"""Every record-backed service's records, through one generic store: registrations, loans,
complaints, and whatever a new service declares (`TABLE`, `KEY`, its migration). A change and the
SMS it owes commit together.

A write first locks its record (or, for a capped filing, what the cap counts): two processes
changing one record run one after the other, so "created" and the SMS a change owes are decided
once. Column names come from the record's own fields, never from a caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import astuple, fields
from typing import Any

from gateway.storage.audit import append_audit
from gateway.storage.database import Database, Tx
from gateway.storage.outbox import insert_outbox
from sessions.ports import Cap, KeyTaken, Notify, Rec


def columns(kind: type[Any]) -> list[str]:
    return [f.name for f in fields(kind)]


def _checked(kind: type[Any], names: list[str]) -> list[str]:
    unknown = set(names) - set(columns(kind))
    if unknown:
        raise ValueError(f"{kind.__name__} has no column {sorted(unknown)}")
    return names


def unchanged(old: Any, new: Any) -> bool:
    """The same record but for `updated_at` (the last field): a repeated PUT owes nothing."""
    return bool(astuple(old)[:-1] == astuple(new)[:-1])


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _where(
    kind: type[Any], where: Mapping[str, object], done: tuple[str, ...]
) -> tuple[str, list[Any]]:
    names = _checked(kind, list(where))
    clauses: list[str] = []
    args: list[Any] = []
    for name in names:
        value = where[name]
        if isinstance(value, tuple):  # any of these values
            clauses.append(f"{name} IN ({_marks(len(value))})" if value else "FALSE")
            args.extend(value)
        else:
            clauses.append(f"{name} = ?")
            args.append(value)
    if done:
        clauses.append(f"status NOT IN ({_marks(len(done))})")
        args.extend(done)
    return " AND ".join(clauses) or "TRUE", args


async def _get(tx: Tx, kind: type[Rec], key: str) -> Rec | None:
    row = await tx.fetchrow(
        f"SELECT {', '.join(columns(kind))} FROM {kind.TABLE} WHERE {kind.KEY} = ?", key
    )
    return kind(*row) if row is not None else None


async def _upsert(tx: Tx, record: Any) -> None:
    kind = type(record)
    cols = columns(kind)
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in (kind.KEY, "created_at"))
    await tx.execute(
        f"INSERT INTO {kind.TABLE} ({', '.join(cols)}) VALUES ({_marks(len(cols))}) "
        f"ON CONFLICT ({kind.KEY}) DO UPDATE SET {updates}",
        *astuple(record),
    )


async def _count(
    tx: Tx, kind: type[Any], where: Mapping[str, object], done: tuple[str, ...]
) -> int:
    clause, args = _where(kind, where, done)
    return int(await tx.fetchval(f"SELECT COUNT(*) FROM {kind.TABLE} WHERE {clause}", *args))


class Records:
    db: Database

    async def get_record(self, kind: type[Rec], key: str) -> Rec | None:
        async with self.db.reading() as tx:
            return await _get(tx, kind, key)

    async def put_record(self, record: Rec, notify: Notify[Rec]) -> tuple[Rec, bool]:
        kind = type(record)
        key = getattr(record, kind.KEY)
        async with self.db.transaction() as tx:
            await tx.lock(f"{kind.TABLE}:{key}")
            old = await _get(tx, kind, key)
            if old is not None:
                record.created_at = old.created_at
                if unchanged(old, record):
                    return old, False  # nothing changed: keep the old timestamp, owe nothing
            await _upsert(tx, record)
            await insert_outbox(tx, notify(old, record))
            verb = "created" if old is None else "changed"
            await append_audit(tx, f"{kind.TABLE}.{verb}", str(key), old, record)
            return record, old is None

    async def create_record(
        self, record: Rec, notify: Notify[Rec], cap: Cap | None = None
    ) -> Rec | None:
        kind = type(record)
        cols = columns(kind)
        async with self.db.transaction() as tx:
            if cap is not None:
                # The cap counts rows that a concurrent filing may be adding right now.
                scope = ",".join(f"{k}={v}" for k, v in sorted(cap.where.items()))
                await tx.lock(f"{kind.TABLE}-cap:{scope}")
                if await _count(tx, kind, cap.where, cap.done) >= cap.limit:
                    return None
            inserted = await tx.execute(
                f"INSERT INTO {kind.TABLE} ({', '.join(cols)}) VALUES ({_marks(len(cols))}) "
                f"ON CONFLICT ({kind.KEY}) DO NOTHING",
                *astuple(record),
            )
            if inserted != 1:
                raise KeyTaken(getattr(record, kind.KEY))
            await insert_outbox(tx, notify(None, record))
            await append_audit(
                tx, f"{kind.TABLE}.created", str(getattr(record, kind.KEY)), None, record
            )
            return record

    async def change_record(
        self, kind: type[Rec], key: str, change: Callable[[Rec], Rec], notify: Notify[Rec]
    ) -> Rec | None:
        async with self.db.transaction() as tx:
            await tx.lock(f"{kind.TABLE}:{key}")
            old = await _get(tx, kind, key)
            if old is None:
                return None
            new = change(kind(*astuple(old)))
            if unchanged(old, new):
                return old
            await _upsert(tx, new)
            await insert_outbox(tx, notify(old, new))
            await append_audit(tx, f"{kind.TABLE}.changed", key, old, new)
            return new

    async def find_records(
        self,
        kind: type[Rec],
        where: Mapping[str, object],
        *,
        order: str = "created_at",
        newest_first: bool = False,
        since: float | None = None,
        until: float | None = None,
        after: tuple[float, str] | None = None,
        limit: int = 50,
    ) -> list[Rec]:
        _checked(kind, [order])
        clause, args = _where(kind, where, ())
        if since is not None:
            clause += f" AND {order} >= ?"
            args.append(float(since))
        if until is not None:
            clause += f" AND {order} < ?"
            args.append(float(until))
        if after is not None:  # keyset pagination: stable under concurrent inserts
            clause += f" AND ({order}, {kind.KEY}) {'<' if newest_first else '>'} (?, ?)"
            args.extend((float(after[0]), after[1]))
        direction = "DESC" if newest_first else "ASC"
        async with self.db.reading() as tx:
            rows = await tx.fetch(
                f"SELECT {', '.join(columns(kind))} FROM {kind.TABLE} WHERE {clause} "
                f"ORDER BY {order} {direction}, {kind.KEY} {direction} LIMIT ?",
                *args,
                limit,
            )
        return [kind(*row) for row in rows]

    async def count_records(
        self, kind: type[Rec], where: Mapping[str, object], done: tuple[str, ...] = ()
    ) -> int:
        async with self.db.reading() as tx:
            return await _count(tx, kind, where, done)
