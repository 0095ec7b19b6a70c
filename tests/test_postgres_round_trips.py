"""PostgreSQL's hop in fewer round trips: its reads run on the connection that holds its
session's lock (no second connection taken from the pool), the lock and the first read are one
call, and the session rows of a group
commit go in one atomic `executemany` (no BEGIN and COMMIT round trips around it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]
import pytest

from gateway.storage import Store, open_storage
from gateway.storage.postgres.database import PostgresDatabase
from gateway.storage.postgres.session_locks import UNLOCK
from sessions.ports import StoredSession

NOW = 1_763_800_000.0


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    opened = await open_storage(db_url)
    assert isinstance(opened, Store)
    assert isinstance(opened.db, PostgresDatabase)
    yield opened
    await opened.close()


def _session(key: str) -> StoredSession:
    return StoredSession(key, "09121234567", {"node": "home"}, "active", "", "x", False, NOW, NOW)


async def test_a_hops_reads_run_on_the_connection_holding_its_lock(store: Store) -> None:
    db = store.db
    assert isinstance(db, PostgresDatabase)
    async with store.locked_session("at:one", "09121234567", None):
        [(reader,)] = await db.fetch_tuples("SELECT pg_backend_pid()", ())
        async with db.reading() as tx:
            also = await tx.fetchval("SELECT pg_backend_pid()")
        [(holder,)] = await db.fetch_tuples(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND (classid::bigint << 32 | objid::bigint) = hashtextextended('session:at:one', 0)",
            (),
        )
    assert reader == holder == also
    # Outside a lock, reads take a connection of the query pool, never the lock pool's.
    [(outside,)] = await db.fetch_tuples("SELECT pg_backend_pid()", ())
    assert outside != holder


async def test_a_group_of_session_rows_is_written_all_or_none(store: Store) -> None:
    db = store.db
    assert isinstance(db, PostgresDatabase)
    rows = [("a", 1), ("b", 2), ("a", 3)]  # the third breaks the key
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE pairs (k TEXT PRIMARY KEY, v INTEGER)")
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.write_many("INSERT INTO pairs (k, v) VALUES (?, ?)", rows)
    assert await db.fetch_tuples("SELECT count(*) FROM pairs", ()) == [(0,)]
    await store.put_session(_session("at:two"))
    found = await store.get_session("at:two")
    assert found is not None
    assert found.state == {"node": "home"}


async def test_the_first_read_sees_what_the_locks_last_holder_committed(store: Store) -> None:
    """The lock and the read are one call: the read's snapshot is taken once the lock is granted,
    not as the call began waiting, so it finds the row the previous hop committed meanwhile."""
    key = "at:two"
    ready = asyncio.Event()

    async def waiter() -> StoredSession | None:
        await ready.wait()
        async with store.locked_session(key, "09121234567", NOW - 300) as opened:
            return opened.stored

    async with store.locked_session(key, "09121234567", NOW - 300) as first:
        assert first.stored is None
        second = asyncio.create_task(waiter())
        ready.set()
        await asyncio.sleep(0.3)
        assert not second.done(), "a second hop of one session did not wait for the first"
        await store.put_session(_session(key))
    assert await asyncio.wait_for(second, 10) == _session(key)


async def test_a_hop_takes_its_lock_and_reads_in_one_round_trip(store: Store) -> None:
    db = store.db
    assert isinstance(db, PostgresDatabase)
    async with store.locked_session("at:warm", "09121234567", NOW - 300):
        pass  # the link's function for this read is made once
    [link] = db._locks._idle
    sent: list[str] = []
    link.conn.add_query_logger(lambda record: sent.append(record.query))
    async with store.locked_session("at:three", "09121234567", NOW - 300) as opened:
        assert opened.stored is None
        assert opened.lang_read
    await asyncio.sleep(0)  # the logger is called soon after, not within the call
    assert len(sent) == 2, sent
    assert sent[0].startswith("SELECT * FROM pg_temp.dargah_locked_read_"), sent
    assert sent[1] == UNLOCK
    assert db._locks._idle == [link]  # and it goes back unlocked, for the next hop
