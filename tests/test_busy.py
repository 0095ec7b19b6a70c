"""Storage held elsewhere past its limit is `Busy` on each backend, raised by the backend itself
(not a stand-in): the API answers 503 `busy` with Retry-After, a USSD caller gets the polite
screen, and the log has a warning, no trace."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from gateway.settings import Settings
from gateway.storage.postgres import database as postgres_database
from gateway.storage.sqlite import file_locks
from sessions.ports import Busy
from sessions.ussd import UNAVAILABLE
from tests.api_helpers import bearer, storage
from tests.conftest import GatewayFactory
from tests.live_gateway import ROOT
from tests.phone import Phone

pytestmark = pytest.mark.timeout(60)

WRITER = """
import fcntl, os, sys, time
from gateway.storage.sqlite.file_locks import WRITER_SLOT
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, WRITER_SLOT)
print("writing", flush=True)
time.sleep(60)
"""
PERSON = {"mobile": "09121234567", "status": "activated"}


@asynccontextmanager
async def writer_held_elsewhere(settings: Settings) -> AsyncIterator[None]:
    """Another process holds what a write needs: SQLite's writer byte, or PostgreSQL's tables."""
    if not settings.database_url:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, f"{settings.db}{file_locks.LOCK_SUFFIX}", cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        assert (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() == b"writing"
        try:
            yield
        finally:
            proc.kill()
            await proc.wait()
        return
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE ussd_sessions, registrations IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_locks, "WRITER_WAIT_S", 0.3)
    monkeypatch.setattr(postgres_database, "LOCK_WAIT_S", 0.3)


async def test_the_backend_itself_raises_busy(
    gateway: GatewayFactory, settings: Settings, short_waits: None
) -> None:
    client = await gateway()
    async with writer_held_elsewhere(settings):
        with pytest.raises(Busy):
            await storage(client).set_session_status("no-such-session", "ended")


async def test_storage_held_elsewhere_is_busy_not_broken(
    gateway: GatewayFactory,
    settings: Settings,
    short_waits: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await gateway()
    auth = await bearer(client, "records")
    async with writer_held_elsewhere(settings):
        resp = await client.put("/v1/registrations/0013542419", json=PERSON, headers=auth)
        assert resp.status == 503, await resp.text()
        assert resp.headers["Retry-After"] == "1"
        body: dict[str, Any] = await resp.json()
        assert body["code"] == "busy"
        hop = await Phone(client).dial()
    assert hop.startswith("END ")
    assert UNAVAILABLE.fa in hop
    assert not [r for r in caplog.records if r.exc_info]
    assert [r for r in caplog.records if r.levelname == "WARNING"]
    # Once the other writer lets go, the same write goes through.
    resp = await client.put("/v1/registrations/0013542419", json=PERSON, headers=auth)
    assert resp.status == 201, await resp.text()
