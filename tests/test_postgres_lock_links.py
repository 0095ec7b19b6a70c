"""The session lock connections' faults: none free, a lock held elsewhere too long, a connection
that breaks under a hop, a hop cancelled while it waits. Each ends in `Busy` or a clean release,
never in a lock left held."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
import pytest

from gateway.storage import Store, open_storage
from gateway.storage.postgres import database as postgres_database
from gateway.storage.postgres.database import PostgresDatabase
from sessions.ports import Busy, StoredSession

CALLER = "09121234567"
SESSION = StoredSession("at:1", CALLER, {"node": "home"}, "active", "1", "x", False, 10.0, 10.0)
# Granted advisory locks on session at:1 (a bigint key is shown as its two halves).
HELD = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND (classid::bigint << 32 | objid::bigint) = hashtextextended('session:at:1', 0)"
)


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


async def _released(store: Store) -> None:
    """The server frees a closed connection's locks once it sees the socket close."""
    for _ in range(100):
        if await _held(store) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the lock of a closed connection was never freed")


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
    await _released(store)
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
        await _released(one)
        async with two.locked_session("at:1", CALLER, None):
            assert await _held(one) == 1
    finally:
        await one.close()
        await two.close()


@pytest.mark.parametrize("noticed", [True, False], ids=["noticed", "not-noticed-yet"])
async def test_a_lock_connection_ended_while_idle_is_replaced(store: Store, noticed: bool) -> None:
    """The server (`idle_session_timeout`, a restart, an operator) or the network ends a lock
    connection waiting for its next hop: the hop takes another, it does not fail."""
    db = store.db
    assert isinstance(db, PostgresDatabase)
    async with store.locked_session("at:1", CALLER, None):
        pass
    [link] = db._locks._idle
    async with db.reading() as tx:
        await tx.execute("SELECT pg_terminate_backend(?)", link.conn.get_server_pid())
    if noticed:
        for _ in range(50):
            if link.conn.is_closed():
                break
            await asyncio.sleep(0.05)
        assert link.conn.is_closed()
    async with store.locked_session("at:1", CALLER, None) as opened:
        assert opened.stored is None
    assert link not in db._locks._idle
    assert await _held(store) == 0


async def test_a_hop_cut_off_while_it_waits_leaves_no_backend_waiting(db_url: str) -> None:
    """Its statement is cancelled on the server before the connection is reused or closed: no
    backend stays queued on the lock for a client that is gone."""
    one, two = await _open(db_url), await _open(db_url, lock_pool_size=2)
    waiting_sql = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND (classid::bigint << 32 | objid::bigint) = hashtextextended('session:at:1', 0)"
    )
    try:
        async with one.locked_session("at:1", CALLER, None):
            for _ in range(3):
                hops = [
                    asyncio.create_task(two.locked_session("at:1", CALLER, 0.0).__aenter__())
                    for _ in range(2)
                ]
                await asyncio.sleep(0.2)
                for hop in hops:
                    hop.cancel()
                await asyncio.gather(*hops, return_exceptions=True)
            [(queued,)] = await one.db.fetch_tuples(waiting_sql, ())
            assert queued == 0
    finally:
        await one.close()
        await two.close()


async def test_lock_connections_close_with_the_store_and_serve_no_hop_after(db_url: str) -> None:
    store = await _open(db_url)
    db = store.db
    assert isinstance(db, PostgresDatabase)
    links = db._locks
    entered, leave = asyncio.Event(), asyncio.Event()

    async def hop() -> None:
        async with store.locked_session("at:1", CALLER, None):
            entered.set()
            await leave.wait()

    running = asyncio.create_task(hop())
    await entered.wait()
    [link] = links._busy
    closing = asyncio.create_task(store.close())
    await asyncio.sleep(0.1)
    assert not closing.done()  # it waits for the hop in flight
    leave.set()
    await asyncio.wait_for(asyncio.gather(running, closing), 10)
    assert link.conn.is_closed()
    assert not links._idle
    with pytest.raises(asyncpg.InterfaceError):
        async with store.locked_session("at:2", CALLER, None):
            pass


@pytest.mark.parametrize("isolation", ["repeatable read", "serializable"])
async def test_the_first_read_sees_the_last_hops_row_under_any_default_isolation(
    db_url: str, isolation: str
) -> None:
    sep = "&" if "?" in db_url else "?"
    store = await open_storage(f"{db_url}{sep}default_transaction_isolation={quote(isolation)}")
    try:
        ready = asyncio.Event()

        async def waiter() -> StoredSession | None:
            await ready.wait()
            async with store.locked_session("at:1", CALLER, 0.0) as opened:
                return opened.stored

        async with store.locked_session("at:1", CALLER, 0.0):
            second = asyncio.create_task(waiter())
            ready.set()
            await asyncio.sleep(0.3)
            await store.put_session(SESSION)
        assert await asyncio.wait_for(second, 10) == SESSION
    finally:
        await store.close()


async def test_a_role_without_the_temporary_privilege_still_locks_and_reads(pg_url: str) -> None:
    """A hardened database (`REVOKE TEMPORARY … FROM PUBLIC`): two round trips, same answers."""
    admin = await asyncpg.connect(pg_url)
    name = f"dargah_notemp_{os.getpid()}"
    try:
        try:
            await admin.execute(f"CREATE ROLE {name} LOGIN")
            await admin.execute(f"CREATE DATABASE {name}")
        except asyncpg.InsufficientPrivilegeError:
            pytest.skip("this PostgreSQL user may not create roles and databases")
        parts = urlsplit(pg_url)
        own = await asyncpg.connect(urlunsplit(parts._replace(path=f"/{name}")))
        try:
            await own.execute(f"REVOKE TEMPORARY ON DATABASE {name} FROM PUBLIC")
            await own.execute(f"CREATE SCHEMA app AUTHORIZATION {name}")
        finally:
            await own.close()
        netloc = f"{name}@{parts.hostname}:{parts.port or 5432}"
        url = urlunsplit(parts._replace(netloc=netloc, path=f"/{name}", query="search_path=app"))
        store = await open_storage(url)
        try:
            await store.put_session(SESSION)
            async with store.locked_session("at:1", CALLER, 0.0) as opened:
                assert opened.stored == SESSION
            async with store.locked_session("at:2", CALLER, 0.0) as opened:
                assert opened.previous == SESSION
        finally:
            await store.close()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name}")
        await admin.execute(f"DROP ROLE IF EXISTS {name}")
        await admin.close()


async def test_a_function_left_by_a_hop_cut_off_as_it_was_made_is_made_again(store: Store) -> None:
    """Cut off after the server made the link's function and before the link knew: the link is
    kept, and its next hop makes the function again rather than failing on the one there."""
    db = store.db
    assert isinstance(db, PostgresDatabase)
    async with store.locked_session("at:1", CALLER, 0.0):
        pass
    [link] = db._locks._idle
    link.reads.clear()  # as after such a cut
    await store.put_session(SESSION)
    async with store.locked_session("at:1", CALLER, 0.0) as opened:
        assert opened.stored == SESSION
