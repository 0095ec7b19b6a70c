"""SQLite's units of work in groups: the units that run during one turn of the event loop share
one COMMIT, each a savepoint of its own, and each caller returns only once its unit is committed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from gateway.storage import Store, open_storage
from gateway.storage.sqlite.database import SqliteDatabase
from tests.postgres_kit import sqlite_only

pytestmark = sqlite_only


class Refused(Exception):
    pass


async def _open(tmp_path: Path) -> tuple[Store, SqliteDatabase]:
    store = await open_storage(f"sqlite:///{tmp_path / 'units.db'}")
    assert isinstance(store, Store)
    db = store.db
    assert isinstance(db, SqliteDatabase)
    db.raw.execute("CREATE TABLE taken (name TEXT PRIMARY KEY)")
    return store, db


async def _take(db: SqliteDatabase, name: str, fail: bool = False) -> None:
    async with db.unit():
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO taken (name) VALUES (?)", name)
        async with db.transaction() as tx:  # a second write of the same unit
            await tx.execute("INSERT INTO taken (name) VALUES (?)", name + "-2")
        if fail:
            raise Refused(name)


def _names(db: SqliteDatabase) -> set[str]:
    return {row[0] for row in db.raw.execute("SELECT name FROM taken").fetchall()}


async def test_units_that_run_together_share_one_commit(tmp_path: Path) -> None:
    store, db = await _open(tmp_path)
    commits: list[str] = []
    db.raw.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    await asyncio.gather(*(_take(db, f"n{i}") for i in range(20)))
    assert len(commits) == 1, commits
    assert _names(db) == {f"n{i}" for i in range(20)} | {f"n{i}-2" for i in range(20)}
    await store.close()


async def test_a_unit_that_fails_undoes_only_itself_in_its_group(tmp_path: Path) -> None:
    store, db = await _open(tmp_path)
    got = await asyncio.gather(
        _take(db, "a"), _take(db, "b", fail=True), _take(db, "c"), return_exceptions=True
    )
    assert got[0] is None
    assert isinstance(got[1], Refused)
    assert got[2] is None
    assert _names(db) == {"a", "a-2", "c", "c-2"}
    await store.close()


async def test_every_unit_of_a_group_whose_commit_failed_is_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, db = await _open(tmp_path)
    control = db._control

    def refuse_commit(sql: str) -> None:
        if sql == "COMMIT":
            monkeypatch.setattr(db, "_control", control)  # once
            raise OSError("disk full")
        control(sql)

    monkeypatch.setattr(db, "_control", refuse_commit)
    got = await asyncio.gather(*(_take(db, f"n{i}") for i in range(5)), return_exceptions=True)
    assert all(isinstance(g, OSError) for g in got), got
    assert _names(db) == set()
    assert not db.raw.in_transaction
    await _take(db, "after")  # the next group commits as usual
    assert _names(db) == {"after", "after-2"}
    await store.close()


async def test_a_write_outside_a_unit_commits_the_open_group_first(tmp_path: Path) -> None:
    store, db = await _open(tmp_path)
    unit = asyncio.ensure_future(_take(db, "u"))
    for _ in range(100):  # until the unit has written: its group open, not yet committed
        if db._group is not None:
            break
        await asyncio.sleep(0)
    assert db._group is not None
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO taken (name) VALUES ('t')")
    assert db._group is None
    await unit
    conn = sqlite3.connect(tmp_path / "units.db")
    try:
        seen = {row[0] for row in conn.execute("SELECT name FROM taken")}
    finally:
        conn.close()
    assert seen == {"u", "u-2", "t"}
    await store.close()


async def _undone(db: SqliteDatabase) -> None:
    async with db.transaction() as inner:
        await inner.execute("INSERT INTO taken (name) VALUES ('undone')")
        raise Refused


async def test_savepoints_keep_one_name_each_so_sqlite_reuses_their_statements(
    tmp_path: Path,
) -> None:
    """A fresh name a savepoint compiled a new statement each time; the same names nest as
    well (each ROLLBACK TO and RELEASE reaches the innermost), so a failed inner write of a
    unit still undoes only itself. The sub-journals savepoints write stay in memory."""
    store, db = await _open(tmp_path)
    said: list[str] = []
    db.raw.set_trace_callback(lambda sql: said.append(sql) if "SAVEPOINT" in sql else None)
    await asyncio.gather(*(_take(db, f"n{i}") for i in range(3)))
    async with db.unit(), db.transaction() as tx:
        await tx.execute("INSERT INTO taken (name) VALUES ('kept')")
        with pytest.raises(Refused):
            await _undone(db)
    assert set(said) == {"SAVEPOINT unit", "SAVEPOINT write"}, set(said)
    assert "kept" in _names(db)
    assert "undone" not in _names(db)
    assert db.raw.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    await store.close()


async def _take_alone(db: SqliteDatabase, name: str, fail: bool = False) -> None:
    """`_take` with writes that need no savepoint of their own."""
    async with db.unit():
        async with db.transaction(savepoint=False) as tx:
            await tx.execute("INSERT INTO taken (name) VALUES (?)", name)
        async with db.transaction(savepoint=False) as tx:
            await tx.execute("INSERT INTO taken (name) VALUES (?)", name + "-2")
        if fail:
            raise Refused(name)


async def test_a_unit_whose_writes_take_no_savepoint_still_undoes_only_itself(
    tmp_path: Path,
) -> None:
    store, db = await _open(tmp_path)
    said: list[str] = []
    db.raw.set_trace_callback(said.append)
    got = await asyncio.gather(
        _take_alone(db, "a"),
        _take_alone(db, "b", fail=True),
        _take_alone(db, "c"),
        return_exceptions=True,
    )
    assert got[0] is None
    assert isinstance(got[1], Refused)
    assert got[2] is None
    assert _names(db) == {"a", "a-2", "c", "c-2"}
    assert "SAVEPOINT write" not in said
    assert said.count("COMMIT") == 1, said  # still one group
    await store.close()


async def test_a_statement_that_fails_without_a_savepoint_leaves_nothing_of_itself(
    tmp_path: Path,
) -> None:
    """SQLite undoes a failed statement whole, the rows it wrote before the failure too; the
    unit's earlier and later writes stand."""
    store, db = await _open(tmp_path)
    async with db.unit():
        async with db.transaction(savepoint=False) as tx:
            await tx.execute("INSERT INTO taken (name) VALUES ('kept')")
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction(savepoint=False) as tx:
                await tx.execute("INSERT INTO taken (name) VALUES ('half'), ('kept')")
        async with db.transaction(savepoint=False) as tx:
            await tx.execute("INSERT INTO taken (name) VALUES ('after')")
    assert _names(db) == {"kept", "after"}
    await store.close()
