"""A session's row as the hop reads and writes it: the first hop's single read, a later hop's
write of a row gone meanwhile, a row written by an earlier version, and a body that arrives in
pieces."""

from __future__ import annotations

import asyncio
import gzip
import sqlite3
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.settings import Settings
from gateway.storage import Store
from gateway.storage.sqlite.database import SqliteDatabase
from gateway.web.access import CALLBACK_MAX_BODY
from sessions.ports import Storage, StoredSession
from tests import postgres_kit
from tests.api_helpers import storage
from tests.conftest import FakeClock, GatewayFactory
from tests.phone import Phone, screen
from tests.seed import ME

sqlite_only = pytest.mark.skipif(
    postgres_kit.backend_url() is not None, reason="SQLite's own rows and statements"
)
CALLER = "09121234567"


def _session(
    key: str, status: str = "active", created: float = 100.0, updated: float = 100.0
) -> StoredSession:
    return StoredSession(
        key=key,
        msisdn=CALLER,
        state={"node": "loans.ask_code", "lang": "fa", "pages": ["کد رهگیری را وارد کنید"]},
        status=status,
        last_hop_key="3",
        last_reply_text="کد رهگیری را وارد کنید",
        last_reply_end=False,
        created_at=created,
        updated_at=updated,
    )


def _session_selects(client: TestClient[Any, Any]) -> list[str]:
    """The statements reading `ussd_sessions` or `caller_languages` that the gateway's connection
    runs from now on."""
    store = storage(client)
    assert isinstance(store, Store)
    assert isinstance(store.db, SqliteDatabase)
    seen: list[str] = []
    store.db.raw.set_trace_callback(
        lambda sql: (
            seen.append(sql)
            if sql.startswith("SELECT") and ("ussd_sessions" in sql or "caller_languages" in sql)
            else None
        )
    )
    return seen


@sqlite_only
async def test_a_new_sessions_first_hop_reads_the_database_once(gateway: GatewayFactory) -> None:
    """The session, the caller's last open one (an offer to resume) and the caller's language
    come in one statement."""
    client = await gateway()
    seen = _session_selects(client)
    phone = Phone(client)
    assert (await phone.dial()).startswith("CON ")
    assert len(seen) == 1, seen
    assert (await phone.send("3")).startswith("CON ")  # a later hop reads its own row only
    assert len(seen) == 2, seen


async def _first_read(
    store: Storage, key: str, msisdn: str, since: float
) -> tuple[StoredSession | None, StoredSession | None, str | None]:
    async with store.locked_session(key, msisdn, since) as opened:
        assert opened.lang_read
        return opened.stored, opened.previous, opened.lang


async def test_the_first_read_finds_the_session_or_the_callers_last_open_one(
    gateway: GatewayFactory,
) -> None:
    store = storage(await gateway())
    assert await _first_read(store, "at:new", CALLER, 50.0) == (None, None, None)
    older = _session("at:older", updated=90.0)
    ended = _session("at:ended", status="ended", updated=99.0)
    for session in (older, ended):
        await store.put_session(session)
    # The newest not ended, within the window; an ended one is never offered.
    assert await _first_read(store, "at:new", CALLER, 50.0) == (None, older, None)
    assert await _first_read(store, "at:new", CALLER, 95.0) == (None, None, None)
    assert await _first_read(store, "at:new", "09350000000", 50.0) == (None, None, None)
    # A stored session is answered alone, whatever the caller has open besides.
    assert await _first_read(store, "at:older", CALLER, 50.0) == (older, None, None)
    assert await _first_read(store, "at:ended", CALLER, 50.0) == (ended, None, None)
    # The caller's language comes with it, and only the caller's.
    await store.remember_language(CALLER, "en", 100.0)
    assert await _first_read(store, "at:new", CALLER, 50.0) == (None, older, "en")
    assert await _first_read(store, "at:new", "09350000000", 50.0) == (None, None, None)
    # A later hop reads its session alone.
    async with store.locked_session("at:older", CALLER, None) as opened:
        assert (opened.stored, opened.previous, opened.lang_read) == (older, None, False)


async def test_a_later_hops_row_deleted_meanwhile_is_written_again(
    gateway: GatewayFactory,
) -> None:
    """A later hop updates its session's row; one purged between its read and its commit is
    inserted again rather than lost."""
    store = storage(await gateway())
    first = _session("at:1", created=100.0, updated=100.0)
    await store.put_session(first)
    later = StoredSession(  # every column the update writes, changed
        key="at:1",
        msisdn=CALLER,
        state={"node": "home", "lang": "en", "pages": ["Main menu"], "page": 0},
        status="ended",
        last_hop_key="3*1",
        last_reply_text="Main menu",
        last_reply_end=True,
        created_at=100.0,
        updated_at=130.0,
    )
    await store.put_session(later)
    assert await store.get_session("at:1") == later
    gone = _session("at:2", created=100.0, updated=140.0)  # never stored, as after a purge
    await store.put_session(gone)
    assert await store.get_session("at:2") == gone


async def test_hops_of_many_sessions_committed_together_keep_their_own_rows(
    gateway: GatewayFactory,
) -> None:
    """New sessions' rows and later hops' updates committed in one group, each as written."""
    store = storage(await gateway())
    await asyncio.gather(*(store.put_session(_session(f"at:{n}")) for n in range(10)))
    written = [
        _session(f"at:{n}", created=100.0, updated=110.0 + n) if n % 2 else _session(f"at:{n + 10}")
        for n in range(10)
    ]
    await asyncio.gather(*(store.put_session(s) for s in written))
    for session in written:
        assert await store.get_session(session.key) == session
    assert (await store.get_session("at:0")) == _session("at:0")


@sqlite_only
async def test_a_session_written_by_an_earlier_version_continues(
    gateway: GatewayFactory, settings: Settings
) -> None:
    """Earlier versions stored the state as text, now it is UTF-8 bytes: a session in progress
    across an upgrade goes on where it was."""
    client = await gateway()
    phone = Phone(client)
    await phone.dial()
    menu = await phone.send("3")
    db = sqlite3.connect(settings.db)
    with db:
        assert db.execute("SELECT typeof(state) FROM ussd_sessions").fetchone() == ("blob",)
        db.execute("UPDATE ussd_sessions SET state = CAST(state AS TEXT)")
        assert db.execute("SELECT typeof(state) FROM ussd_sessions").fetchone() == ("text",)
    db.close()
    assert await phone.repeat() == menu  # the retry is answered from the row as it was
    assert "کد رهگیری" in await phone.send("1")  # and the flow goes on from its state


async def test_a_hop_whose_body_arrives_in_two_packets_is_read_whole(
    gateway: GatewayFactory,
) -> None:
    """The body is taken from the buffer only when all of it has arrived: an operator whose
    request is split between packets is answered as if it were not."""
    client = await gateway()
    body = (
        b"sessionId=split-1&serviceCode=%2A4455%23&phoneNumber=%2B989121234567"
        b"&networkCode=43211&text="
    )
    head = (
        f"POST /ussd/africastalking HTTP/1.1\r\nHost: {client.host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(head + body[:20])
    await writer.drain()
    await asyncio.sleep(0.05)  # the handler is already waiting for the rest
    writer.write(body[20:])
    await writer.drain()
    answer = (await reader.read()).decode()
    writer.close()
    assert answer.startswith("HTTP/1.1 200"), answer
    assert "\r\n\r\nCON " in answer, answer


async def test_a_chunked_hop_is_read(gateway: GatewayFactory) -> None:
    client = await gateway()

    async def pieces() -> Any:
        yield b"sessionId=chunked-1&serviceCode=%2A4455%23"
        yield b"&phoneNumber=09121234567&networkCode=43211&text="

    resp = await client.post(
        "/ussd/africastalking",
        data=pieces(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 200
    assert (await resp.text()).startswith("CON ")


async def test_a_session_whose_clock_moves_between_hops_keeps_its_place(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    """Later hops, a second apart as a caller types, update the row the first hop inserted."""
    client = await gateway()
    phone = Phone(client)
    await phone.dial()
    clock.advance(1)
    menu = await phone.send("3")
    clock.advance(1)
    assert await phone.repeat() == menu  # the retry finds the updated row
    prompt = await phone.send("1")
    assert "کد رهگیری" in prompt
    clock.advance(1)
    assert await phone.repeat() == prompt
    stored = await storage(client).get_session(f"africastalking:{phone.session_id}")
    assert stored is not None
    assert (stored.created_at, stored.updated_at) == (clock.now - 3, clock.now - 1)
    assert stored.last_hop_key == "3*1"
    assert stored.last_reply_text == screen(prompt)


async def test_an_oversized_chunked_hop_is_refused(gateway: GatewayFactory) -> None:
    """A body without a declared length is read within the route's limit."""
    client = await gateway()

    async def pieces() -> Any:
        yield b"sessionId=big-1&serviceCode=%2A4455%23&phoneNumber=09121234567&text="
        for _ in range(CALLBACK_MAX_BODY // 1024 + 2):
            yield b"1" * 1024

    resp = await client.post(
        "/ussd/africastalking",
        data=pieces(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 413
    assert (await resp.json())["code"] == "body_too_large"


async def _gzip_hop(client: TestClient[Any, Any], packed: bytes) -> ClientResponse:
    return await client.post(
        "/ussd/africastalking",
        data=packed,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"},
    )


async def test_a_compressed_hop_that_unpacks_past_the_limit_is_refused(
    gateway: GatewayFactory,
) -> None:
    """The declared length of a gzip body is its packed size: what it unpacks to is held to the
    route's limit too."""
    client = await gateway()
    body = b"sessionId=zip-1&serviceCode=%2A4455%23&phoneNumber=09121234567&text=" + (
        b"1" * (CALLBACK_MAX_BODY * 3)
    )
    packed = gzip.compress(body)
    assert len(packed) < CALLBACK_MAX_BODY
    resp = await _gzip_hop(client, packed)
    assert resp.status == 413
    assert (await resp.json())["code"] == "body_too_large"
    resp = await _gzip_hop(client, gzip.compress(body[: body.index(b"text=") + 5]))
    assert resp.status == 200
    assert (await resp.text()).startswith("CON ")


async def test_a_session_state_reads_back_as_it_was_written(gateway: GatewayFactory) -> None:
    """Persian text, nesting, and a lone surrogate (which a JSON dialect's `\\ud800` can carry)."""
    client = await gateway()
    store = storage(client)
    state = {"node": "home", "data": {"text": "سلام\u200cها", "odd": "\ud800!"}, "saved": {"n": 1}}
    session = StoredSession(
        key="json:s1",
        msisdn=ME,
        state=state,
        status="active",
        last_hop_key="1",
        last_reply_text="CON",
        last_reply_end=False,
        created_at=1.0,
        updated_at=2.0,
    )
    await store.put_session(session)
    assert await store.get_session("json:s1") == session
