"""The gateway run with one design choice undone from outside, so that one `make bench` run shows
side by side what each choice buys. Not a way to run the gateway in production.

    python -m bench.variant thread-per-statement,no-group-commit serve --port 18104

- `thread-per-statement`: every SQLite statement is handed to a worker thread and back, as
  aiosqlite does (the gateway's first design): it prices the hand-offs.
- `no-group-commit`: each hop's session row is committed in a transaction of its own.
- `asyncio-loop`: the standard library's event loop in place of uvloop.
- `no-heap-freeze`: the start-up heap left to the collector (no `gc.freeze()`).
- `json-state`: session state written and read with `json` in place of orjson.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

VARIANTS = (
    "thread-per-statement",
    "no-group-commit",
    "asyncio-loop",
    "no-heap-freeze",
    "json-state",
)


def _thread_per_statement() -> None:
    import sqlite3

    from gateway.storage.sqlite import connection, database

    worker = ThreadPoolExecutor(1, thread_name_prefix="sqlite")

    def connect_anywhere(path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.row_factory = None
        return conn

    async def hop(fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(worker, fn, *args)

    async def fetched(raw: sqlite3.Connection, sql: str, args: Sequence[Any]) -> list[Any]:
        cursor = await hop(raw.execute, sql, args)
        rows: list[Any] = await hop(cursor.fetchall) if cursor.description else []
        return rows

    async def execute(self: connection.SqliteTx, sql: str, *args: Any) -> int:
        cursor = await hop(self.raw.execute, sql, args)
        return int(cursor.rowcount)

    async def executemany(
        self: connection.SqliteTx, sql: str, rows: Iterable[Sequence[Any]]
    ) -> int | None:
        cursor = await hop(self.raw.executemany, sql, list(rows))
        return int(cursor.rowcount)

    async def fetch(self: connection.SqliteTx, sql: str, *args: Any) -> list[Any]:
        return await fetched(self.raw, sql, args)

    async def fetchrow(self: connection.SqliteTx, sql: str, *args: Any) -> Any:
        rows = await fetched(self.raw, sql, args)
        return rows[0] if rows else None

    async def fetchval(self: connection.SqliteTx, sql: str, *args: Any) -> Any:
        rows = await fetched(self.raw, sql, args)
        return rows[0][0] if rows else None

    async def fetch_tuples(
        self: database.SqliteDatabase, sql: str, params: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        async with self.reading():
            return [tuple(row) for row in await fetched(self.raw, sql, params)]

    setattr(database, "connect", connect_anywhere)  # noqa: B010  the name it imported
    database.SqliteDatabase.fetch_tuples = fetch_tuples  # type: ignore[method-assign]
    connection.SqliteTx.execute = execute  # type: ignore[method-assign]
    connection.SqliteTx.executemany = executemany  # type: ignore[method-assign]
    connection.SqliteTx.fetch = fetch  # type: ignore[method-assign]
    connection.SqliteTx.fetchrow = fetchrow  # type: ignore[method-assign]
    connection.SqliteTx.fetchval = fetchval  # type: ignore[method-assign]


def _no_group_commit() -> None:
    from gateway.storage import sessions
    from gateway.storage.rows import encode_state_utf8
    from sessions.ports import StoredSession

    async def put_session(self: sessions.SessionRows, s: StoredSession) -> None:
        state = encode_state_utf8(s.state)
        row = (s.key, s.msisdn, state, s.status, s.last_hop_key, s.last_reply_text,
               int(s.last_reply_end), s.created_at, s.updated_at)  # fmt: skip
        async with self.db.transaction() as tx:
            await tx.execute(sessions._UPSERT, *row)

    sessions.SessionRows.put_session = put_session  # type: ignore[method-assign,assignment]


def _no_heap_freeze() -> None:
    import run

    async def leave_heap(app: Any) -> None:
        return None

    run._settle_heap = leave_heap


def _json_state() -> None:
    import json

    from gateway.storage import rows, sessions

    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def encode(state: dict[str, Any]) -> bytes:
        return encoder(state).encode("utf-8")

    def decode(data: str | bytes) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(data)
        return state

    setattr(sessions, "encode_state_utf8", encode)  # noqa: B010  the name it imported
    rows.decode_state = decode


def main(argv: list[str]) -> int:
    chosen = [v for v in argv[0].split(",") if v]
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        print(f"unknown variant(s) {unknown}; choose from {VARIANTS}", file=sys.stderr)
        return 2
    if "thread-per-statement" in chosen:
        _thread_per_statement()
    if "no-group-commit" in chosen:
        _no_group_commit()
    if "asyncio-loop" in chosen:
        os.environ["GATEWAY_EVENT_LOOP"] = "asyncio"
    if "no-heap-freeze" in chosen:
        _no_heap_freeze()
    if "json-state" in chosen:
        _json_state()
    import run

    return run.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
