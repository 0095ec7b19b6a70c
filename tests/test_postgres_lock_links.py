"""The session lock connections' faults: none free, a lock held elsewhere too long, a connection
that breaks under a hop, a hop cancelled while it waits. Each ends in `Busy` or a clean release,
never in a lock left held."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from gateway.storage import Store, open_storage
from gateway.storage.postgres import database as postgres_database
from gateway.storage.postgres.database import PostgresDatabase
from sessions.ports import Busy
from tests.postgres_kit import fresh_schema, reachable_url

CALLER = "09121234567"
# Granted advisory locks on session at:1 (a bigint key is shown as its two halves).
HELD = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND (classid::bigint << 32 | objid::bigint) = hashtextextended('session:at:1', 0)"
)


@pytest.fixture(scope="module")
def pg_url() -> str:
    url = reachable_url()
    if url is None:
        pytest.skip("no PostgreSQL answers (set DARGAH_TEST_DATABASE_URL)")
    return url


@pytest.fixture
def db_url(pg_url: str) -> Iterator[str]:
    with fresh_schema(pg_url) as url:
        yield url


async def _open(url: str, lock_pool_size: int = 4) -> Store:
    sep = "&" if "?" in url else "?"
    store = await open_storage(f"{url}{sep}lock_pool_size={lock_pool_size}")
    assert isinstance(store, Store)
    assert isinstance(store.db, PostgresDatabase)
    return store


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    opened = await _open(db_url)
    yield opened
    await opened.close()


async def _held(store: Store) -> int:
    [(count,)] = await store.db.fetch_tuples(HELD, ())
    return int(count)


async def test_no_free_lock_connection_in_time_is_busy(db_url: str) -> None:
    store = await _open(db_url, lock_pool_size=1)
    try:
        db = store.db
        assert isinstance(db, PostgresDatabase)
        db._locks._wait_s = 0.2
        async with store.locked_session("at:1", CALLER, None):
            with pytest.raises(Busy):
                async with store.locked_session("at:2", CALLER, None):
                    pass
        async with store.locked_session("at:2", CALLER, None):  # free again once released
            pass
    finally:
        await store.close()


async def test_a_lock_held_elsewhere_past_the_wait_is_busy(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_database, "LOCK_WAIT_S", 0.3)  # each connection's lock_timeout
    one, two = await _open(db_url), await _open(db_url)
    try:
        async with one.locked_session("at:1", CALLER, None):
            with pytest.raises(Busy):
                async with two.locked_session("at:1", CALLER, 0.0):
                    pass
        async with two.locked_session("at:1", CALLER, 0.0) as opened:  # and then it is free
            assert opened.stored is None
        assert await _held(one) == 0
    finally:
        await one.close()
        await two.close()


async def test_a_broken_lock_connection_is_dropped_and_its_lock_released(store: Store) -> None:
    db = store.db
    assert isinstance(db, PostgresDatabase)

    async def hop() -> None:
        async with store.locked_session("at:1", CALLER, None):
            [link] = db._locks._busy
            link.conn.terminate()  # the server or the network cut it under the hop
            raise RuntimeError("the hop failed")

    with pytest.raises(RuntimeError):
        await hop()
    assert not db._locks._idle
    assert not db._locks._busy
    assert await _held(store) == 0
    async with store.locked_session("at:1", CALLER, None) as opened:  # a new connection serves
        assert opened.stored is None


async def test_a_hop_cancelled_while_it_waits_leaves_no_lock(db_url: str) -> None:
    one, two = await _open(db_url), await _open(db_url)
    try:
        async with one.locked_session("at:1", CALLER, None):
            waiting = asyncio.create_task(two.locked_session("at:1", CALLER, None).__aenter__())
            await asyncio.sleep(0.3)
            assert not waiting.done()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        db = two.db
        assert isinstance(db, PostgresDatabase)
        assert not db._locks._busy  # the cut-off connection was closed, not kept
        await asyncio.sleep(0.2)  # the server ends the closed connection's session
        assert await _held(one) == 0
        async with two.locked_session("at:1", CALLER, None):
            assert await _held(one) == 1
    finally:
        await one.close()
        await two.close()
