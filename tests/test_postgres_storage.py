"""The PostgreSQL storage under concurrency: several storages (as several processes would) on one
database. Migrations race, claims are disjoint, limits, idempotency keys and the open-complaint
limit hold, and a session's hops wait for each other across storages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from gateway.storage import open_storage
from gateway.storage.migrations import migration_scripts
from gateway.storage.postgres.database import TYPES, VERSION_TABLE
from sessions.ports import Cap, Storage
from sessions.records import Complaint, Limit, OutboundSms, Outcome

NOW = 1_763_800_000.0
STORAGES = 3


@pytest.fixture
async def stores(db_url: str) -> AsyncIterator[list[Storage]]:
    opened = await asyncio.gather(*(open_storage(db_url) for _ in range(STORAGES)))
    try:
        yield list(opened)
    finally:
        for store in opened:
            await store.close()


def sms(i: int, priority: int = 5, recipient: str | None = None) -> OutboundSms:
    return OutboundSms(
        id=f"m{i:05d}",
        recipient=recipient or f"0912{i:07d}",
        template_id="complaint_received",
        lang="fa",
        params={"ticket": str(i)},
        body=f"body {i}",
        priority=priority,
        due_at=NOW,
        created_at=NOW,
    )


async def test_processes_starting_together_migrate_once(db_url: str) -> None:
    opened = await asyncio.gather(*(open_storage(db_url) for _ in range(4)))
    try:
        assert all([await s.ping() for s in opened])
    finally:
        for store in opened:
            await store.close()
    conn = await asyncpg.connect(db_url)
    try:
        query = f"SELECT version FROM {VERSION_TABLE}"  # noqa: S608
        versions = [r[0] for r in await conn.fetch(query)]
    finally:
        await conn.close()
    assert sorted(versions) == [v for v, _, _ in migration_scripts(TYPES)]


async def test_both_url_schemes_open_and_others_are_refused(db_url: str) -> None:
    store = await open_storage(db_url.replace("postgresql://", "postgres://", 1))
    await store.close()
    with pytest.raises(ValueError, match="unsupported database URL"):
        await open_storage("mysql://localhost/db")


async def test_concurrent_claims_are_disjoint_and_cover_the_outbox(stores: list[Storage]) -> None:
    await stores[0].enqueue([sms(i, priority=i % 3) for i in range(300)])

    async def drain(store: Storage) -> list[str]:
        got: list[str] = []
        while claimed := await store.claim_due(NOW, 17, 60.0, "kavenegar"):
            got.extend(c.id for c in claimed)
            assert [c.priority for c in claimed] == sorted(c.priority for c in claimed)
        return got

    claimed = await asyncio.gather(*(drain(s) for s in stores for _ in range(2)))
    every = [i for ids in claimed for i in ids]
    assert len(every) == len(set(every)) == 300
    assert await stores[1].claim_due(NOW + 30, 500, 60.0, "kavenegar") == []  # leased
    assert await stores[1].claim_unknown(NOW + 30, 500, 60.0) == []
    # The leases ran out mid-send: each is checked with its provider, never simply sent again.
    again = await stores[2].claim_unknown(NOW + 61, 500, 60.0)
    assert len(again) == 300
    assert {(c.check, c.attempt, c.provider) for c in again} == {(True, 1, "kavenegar")}
    assert await stores[0].claim_due(NOW + 61, 500, 60.0, "kavenegar") == []


async def test_a_limit_counts_exactly_under_concurrency(stores: list[Storage]) -> None:
    limits = [Limit("otp:09121234567", 5, 3600), Limit("otp-nid:0013542419", 50, 3600)]
    results = await asyncio.gather(
        *(stores[i % STORAGES].hit_limits(limits, NOW) for i in range(30))
    )
    assert sum(r is None for r in results) == 5
    assert {r.key for r in results if r is not None} == {"otp:09121234567"}
    # The refused calls counted nothing, on either limit.
    second = [Limit("otp-nid:0013542419", 5, 3600)]
    hits = [await stores[0].hit_limits(second, NOW) for _ in range(5)]
    assert [h is None for h in hits] == [False] * 5  # 5 already counted there, by the 5 allowed


async def test_a_concurrent_duplicate_request_is_enqueued_once(stores: list[Storage]) -> None:
    async def post(i: int) -> Any:
        entries: list[tuple[str, OutboundSms | Outcome]] = [
            ("09121234567", sms(i, 0, "09121234567"))
        ]
        return await stores[i % STORAGES].enqueue_notifications(
            entries, 120, ("portal:key-1", "hash-1"), NOW
        )

    results = await asyncio.gather(*(post(i) for i in range(12)))
    rows = await stores[0].outbox_messages()
    assert len(rows) == 1
    assert {r.outcomes[0].id for r in results} == {rows[0]["id"]}
    assert sum(not r.replayed for r in results) == 1
    other = await stores[1].enqueue_notifications([], 120, ("portal:key-1", "hash-2"), NOW)
    assert other is None  # the same key with another request


async def test_the_resend_interval_holds_across_processes(stores: list[Storage]) -> None:
    async def post(i: int) -> Any:
        entries: list[tuple[str, OutboundSms | Outcome]] = [
            ("09121234567", sms(i, 0, "09121234567"))
        ]
        return await stores[i % STORAGES].enqueue_notifications(entries, 120, None, NOW)

    results = await asyncio.gather(*(post(i) for i in range(9)))
    assert sum(r.outcomes[0].id is not None for r in results) == 1
    assert len(await stores[0].outbox_messages()) == 1


async def test_the_open_complaint_limit_is_atomic(stores: list[Storage]) -> None:
    async def file(i: int) -> Complaint | None:
        record = Complaint(f"T{i:04d}", "09121234567", "other", created_at=NOW, updated_at=NOW)
        cap = Cap({"msisdn": "09121234567"}, 3, done=("closed",))
        return await stores[i % STORAGES].create_record(record, lambda old, new: [], cap)

    filed = await asyncio.gather(*(file(i) for i in range(12)))
    assert sum(f is not None for f in filed) == 3
    assert (
        await stores[0].count_records(Complaint, {"msisdn": "09121234567"}, done=("closed",)) == 3
    )


async def test_a_session_lock_holds_across_storages(stores: list[Storage]) -> None:
    order: list[str] = []

    async def hop(store: Storage, name: str, hold_s: float) -> None:
        async with store.locked_session("africastalking:ATUid_1", "09121234567", None):
            order.append(f"{name} in")
            await asyncio.sleep(hold_s)
            order.append(f"{name} out")

    first = asyncio.create_task(hop(stores[0], "a", 0.3))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await asyncio.gather(hop(stores[1], "b", 0.0), hop(stores[2], "c", 0.0), first)
    assert order[:2] == ["a in", "a out"]
    assert time.monotonic() - started >= 0.15
    # Other sessions do not wait for each other.
    async with (
        stores[1].locked_session("africastalking:ATUid_2", "09121234567", None),
        stores[2].locked_session("africastalking:ATUid_3", "09121234567", None),
    ):
        pass
