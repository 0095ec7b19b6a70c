"""PostgreSQL for the tests: which server to use, and one fresh schema per test.

`DARGAH_TEST_DATABASE_URL=postgresql://…` makes the `settings` fixture run every test against
PostgreSQL, each in an empty schema of its own (named in the URL's `search_path`, dropped after).
`python -m tests.postgres_kit` prints the URL of a server that answers (exit 1 when none does);
`make test-postgres` uses it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
import pytest

URL_ENV = "DARGAH_TEST_DATABASE_URL"
CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
)
T = TypeVar("T")


def backend_url() -> str | None:
    """The PostgreSQL URL the suite runs against, or None for SQLite."""
    return os.environ.get(URL_ENV) or None


# For the few tests about SQLite itself (its file, its WAL): they say nothing about PostgreSQL.
sqlite_only = pytest.mark.skipif(
    backend_url() is not None, reason="SQLite-specific; the suite runs on PostgreSQL"
)


def _run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Runs a coroutine to the end on a loop of its own, in a thread (a test's loop may be busy)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, factory()).result(timeout=30)


async def _answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def reachable_url() -> str | None:
    """The configured URL if set (whether it answers or not), else the first default that does."""
    configured = backend_url()
    if configured:
        return configured
    for url in CANDIDATES:
        if _run(lambda url=url: _answers(url)):  # type: ignore[misc]
            return url
    return None


def with_search_path(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"]
    query.append(("search_path", schema))
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def execute(url: str, sql: str) -> None:
    """Runs one statement on the database `url` selects (a test reaching into a gateway's)."""
    _run(lambda: _execute(url, sql))


RUN_PREFIX = f"t{secrets.token_hex(3)}"  # this run's schemas, swept at its end


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """An empty schema for one test (or one cluster); yields the URL that selects it."""
    name = f"{RUN_PREFIX}_{secrets.token_hex(6)}"
    _run(lambda: _execute(url, f"CREATE SCHEMA {name}"))
    try:
        yield with_search_path(url, name)
    finally:
        # A pool that is closed after this (fixture order) must not make the test hang here;
        # what is left over goes in the sweep at the end of the run.
        with suppress(asyncpg.PostgresError, OSError, TimeoutError):
            drop = f"SET lock_timeout = '2s'; DROP SCHEMA IF EXISTS {name} CASCADE"
            _run(lambda: _execute(url, drop))


def sweep(url: str) -> None:
    """Drops every schema this run made that is still there."""
    _run(lambda: _sweep(url))


async def _sweep(url: str) -> None:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        names = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", f"{RUN_PREFIX}\\_%"
        )
        for (name,) in names:
            await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        await conn.close()


def main() -> int:
    url = reachable_url()
    if url is None or not _run(lambda: _answers(url)):
        print(f"no PostgreSQL answers at {url or ' or '.join(CANDIDATES)}", file=sys.stderr)
        return 1
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
