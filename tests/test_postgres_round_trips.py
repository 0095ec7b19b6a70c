"""PostgreSQL's hop in fewer round trips: its reads run on the connection that holds its
session's lock (no second connection taken from the pool), and the session rows of a group
commit go in one atomic `executemany` (no BEGIN and COMMIT round trips around it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg  # type: ignore[import-untyped]
import pytest

from gateway.storage import Store, open_storage
from gateway.storage.postgres.database import PostgresDatabase
from sessions.ports import StoredSession
from tests.postgres_kit import fresh_schema, reachable_url

NOW = 1_763_800_000.0


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
    async with store.session_lock("at:one"):
        [(reader,)] = await db.fetch_tuples("SELECT pg_backend_pid()", ())
        async with db.reading() as tx:
            also = await tx.fetchval("SELECT pg_backend_pid()")
        [(holder,)] = await db.fetch_tuples(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted", ()
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
