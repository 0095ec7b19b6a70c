"""The outbox and session queries read their index ranges in order: no scan of a whole backlog,
no sort of every due row. Proved from the planners themselves (SQLite `EXPLAIN QUERY PLAN`,
PostgreSQL `EXPLAIN`), on a table holding a backlog and no statistics (as right after a burst)."""

from __future__ import annotations

import time

from gateway.storage import Store
from gateway.storage.console import _SENT_SINCE
from gateway.storage.dispatch import (
    _REPORTED,
    _check_sql,
    _claim_sql,
    _expire_sql,
    _polls_sql,
    _twins_sql,
)
from gateway.storage.outbox import _callbacks_sql
from gateway.storage.sessions import _FIRST_READ, _LATEST_OPEN
from gateway.storage.sqlite.database import SqliteDatabase
from sessions.records import OutboundSms
from tests.api_helpers import storage
from tests.conftest import GatewayFactory

BACKLOG = 3_000
SESSIONS = 5_000
# The indexes that only some states read: a queued message enters none of them.
PARTIAL = {"outbox_lease", "outbox_sent", "outbox_provider_id", "outbox_callbacks"}


async def _plan(store: Store, sql: str, *args: object) -> str:
    sqlite = isinstance(store.db, SqliteDatabase)
    async with store.db.reading() as tx:
        rows = await tx.fetch(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql, *args)
    return "\n".join(str(row[-1]) for row in rows)


async def _partial_indexes(store: Store) -> set[str]:
    async with store.db.reading() as tx:
        if isinstance(store.db, SqliteDatabase):
            rows = await tx.fetch("PRAGMA index_list(outbox)")
            return {str(row[1]) for row in rows if row[4]}  # seq, name, unique, origin, partial
        rows = await tx.fetch(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'outbox'::regclass AND i.indpred IS NOT NULL"
        )
    return {str(row[0]) for row in rows}


async def _filled(gateway: GatewayFactory) -> Store:
    client = await gateway()
    store = storage(client)
    assert isinstance(store, Store)
    now = time.time()
    await store.enqueue(
        [
            OutboundSms(
                str(10**17 + i),
                f"0912{i:07d}",
                "keyword_help",
                "fa",
                {},
                "x",
                i % 3,
                now - i,
                created_at=now,
                expires_at=now + 3600,
            )
            for i in range(BACKLOG)
        ]
    )
    async with store.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO ussd_sessions (key, msisdn, state, status, last_hop_key, "
            "last_reply_text, last_reply_end, created_at, updated_at) "
            "VALUES (?, ?, ?, 'active', NULL, 'x', 0, ?, ?)",
            [(f"k{i}", f"0935{i:07d}", "{}", now - i, now - i) for i in range(SESSIONS)],
        )
    return store


async def test_the_claims_read_their_index_ranges_in_order(gateway: GatewayFactory) -> None:
    store = await _filled(gateway)
    skip = store.db.skip_locked
    now = time.time()
    claim = await _plan(store, _claim_sql(skip), now + 60, "kavenegar", now, now, 0, now, 200)
    assert "outbox_due" in claim
    checks = await _plan(store, _check_sql(skip, False, 0), now + 60, now + 60, now, now, 200)
    assert "outbox_due" in checks
    lapsed = await _plan(store, _check_sql(skip, True, 0), now + 60, now + 60, now, now, 200)
    assert "outbox_lease" in lapsed
    # A dispatcher's own sends in flight left out: the same ranges.
    held = _check_sql(skip, True, 2)
    lapsed_held = await _plan(store, held, now + 60, now + 60, now, now, "a", "b", 200)
    assert "outbox_lease" in lapsed_held
    expire = await _plan(store, _expire_sql(skip), now, now, now, 200, now, now, 200)
    assert "outbox_expiry" in expire
    twins = await _plan(store, _twins_sql(2), "09350000007", "09350000008")
    assert "outbox_provider_id" not in twins, twins  # never every message a provider sent
    assert "SCAN outbox" not in twins.replace("SCAN outbox USING", ""), twins
    for plan in (claim, checks, lapsed, lapsed_held, expire, twins):
        assert "TEMP B-TREE" not in plan.upper(), plan  # SQLite: no sort of the rows read
        assert "Seq Scan on outbox" not in plan, plan  # PostgreSQL: no scan of the backlog
        assert "Sort" not in plan.split("->")[-1], plan


async def test_the_resume_look_up_goes_by_the_caller(gateway: GatewayFactory) -> None:
    store = await _filled(gateway)
    now = time.time()
    for plan in (
        await _plan(store, _LATEST_OPEN, "09350000007", now - 300),
        await _plan(store, _FIRST_READ, "k7", "09350000007", now - 300, "09350000007"),
    ):
        assert "ussd_sessions_caller" in plan, plan
        assert "ussd_sessions_updated" not in plan, plan  # never a walk of every session


async def test_the_indexes_of_some_states_hold_only_them_and_are_still_read(
    gateway: GatewayFactory,
) -> None:
    store = await _filled(gateway)
    partial = await _partial_indexes(store)
    assert PARTIAL.issubset(partial), partial
    skip = store.db.skip_locked
    now = time.time()
    plans = {
        "outbox_lease": [await _plan(store, _check_sql(skip, True, 0), now, now, now, now, 200)],
        "outbox_sent": [
            await _plan(store, _polls_sql(skip), now, now - 60, now - 3600, now - 60, 200),
            await _plan(store, _SENT_SINCE, now - 60),
        ],
        "outbox_provider_id": [await _plan(store, _REPORTED, "kavenegar", "8812")],
        "outbox_callbacks": [await _plan(store, _callbacks_sql(skip), now, now, 200)],
    }
    for index, found in plans.items():
        for plan in found:
            assert index in plan, plan
            assert f"SCAN outbox USING INDEX {index}" not in plan, plan  # never all of it
            assert "Seq Scan on outbox" not in plan, plan
