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
from collections.abc import Iterable, Mapping, Sequence
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

    from gateway.storage import sqlite_base, sqlite_conn

    worker = ThreadPoolExecutor(1, thread_name_prefix="sqlite")

    def open_anywhere(cls: type[sqlite_conn.Connection], path: str) -> sqlite_conn.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        return cls(conn)

    async def hop(fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(worker, fn, *args)

    async def execute(
        self: sqlite_conn.Connection, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> Any:
        cursor = sqlite_conn.Cursor(await hop(self._conn.execute, sql, params))
        rows = await hop(cursor._cur.fetchall) if cursor._cur.description else []
        return _Fetched(cursor, rows)

    async def executemany(
        self: sqlite_conn.Connection, sql: str, params: Iterable[Sequence[Any]]
    ) -> sqlite_conn.Cursor:
        return sqlite_conn.Cursor(await hop(self._conn.executemany, sql, list(params)))

    async def fetch_tuples(
        self: sqlite_base.SqliteBase, sql: str, params: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        async with self.reading() as conn:
            return [tuple(row) for row in await (await conn.execute(sql, params)).fetchall()]

    sqlite_base.SqliteBase.fetch_tuples = fetch_tuples  # type: ignore[method-assign]
    sqlite_conn.Connection.open = classmethod(open_anywhere)  # type: ignore[method-assign,assignment]
    sqlite_conn.Connection.execute = execute  # type: ignore[method-assign]
    sqlite_conn.Connection.executemany = executemany  # type: ignore[method-assign]


class _Fetched:
    """A cursor whose rows were fetched on the worker thread (a second hand-off, as aiosqlite)."""

    def __init__(self, cursor: Any, rows: list[Any]) -> None:
        self._cursor, self._rows = cursor, rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid  # type: ignore[no-any-return]


def _no_group_commit() -> None:
    from gateway.storage import sqlite_sessions
    from gateway.storage.common import encode_state_utf8
    from sessions.ports import StoredSession

    async def put_session(self: sqlite_sessions.SqliteSessions, s: StoredSession) -> None:
        state = encode_state_utf8(s.state)
        row = (s.key, s.msisdn, state, s.status, s.last_hop_key, s.last_reply_text,
               int(s.last_reply_end), s.created_at, s.updated_at)  # fmt: skip
        async with self.transaction() as conn:
            await conn.execute(sqlite_sessions._UPSERT, row)

    sqlite_sessions.SqliteSessions.put_session = put_session  # type: ignore[method-assign,assignment]


def _no_heap_freeze() -> None:
    import run

    async def leave_heap(app: Any) -> None:
        return None

    run._settle_heap = leave_heap


def _json_state() -> None:
    import json

    from gateway.storage import common, sqlite_sessions

    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def encode(state: dict[str, Any]) -> bytes:
        return encoder(state).encode("utf-8")

    def decode(data: str | bytes) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(data)
        return state

    setattr(sqlite_sessions, "encode_state_utf8", encode)  # noqa: B010  the name it imported
    common.decode_state = decode


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
