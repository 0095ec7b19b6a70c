"""Kavenegar adapter against the fake server and over recorded raw answers."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from providers.base import (
    AccountError,
    AmbiguousError,
    DeliveryState,
    Handed,
    OtpParams,
    OutgoingSms,
    PermanentError,
    ProviderError,
    RetryableError,
    Verdict,
)
from providers.kavenegar import KavenegarProvider
from providers.kavenegar_codes import ERROR_KINDS
from tests.fakes import Replay
from tests.fakes.kavenegar import FakeKavenegar

RECORDED = Path(__file__).parent / "recorded" / "providers" / "kavenegar"
CALLBACKS = json.loads((RECORDED / "callbacks.json").read_text(encoding="utf-8"))
ANSWERS = json.loads((RECORDED / "answers.json").read_text(encoding="utf-8"))
SENDER = "10004346"
TIMEOUT = 0.5  # a fake on loopback answers in ms; a loaded CI machine needs slack

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def fake() -> FakeKavenegar:
    return FakeKavenegar()


@pytest.fixture
async def server(fake: FakeKavenegar, aiohttp_server: ServerFactory) -> TestServer:
    return await aiohttp_server(fake.app())


@pytest.fixture
def kave(
    fake: FakeKavenegar, server: TestServer, session: aiohttp.ClientSession
) -> KavenegarProvider:
    return KavenegarProvider(
        session, fake.api_key, SENDER, str(server.make_url("")), TIMEOUT, verify_template="otp"
    )


def sms(n: int, receptor: str | None = None, text: str = "سلام") -> OutgoingSms:
    return OutgoingSms(f"out-{n}", receptor or f"0912000{n:04d}", text)


async def test_send_one_posts_sms_send_with_localid(
    kave: KavenegarProvider, fake: FakeKavenegar
) -> None:
    [result] = await kave.send([sms(1)])
    [req] = fake.requests
    assert (req.scope, req.method, req.http_method) == ("sms", "send", "POST")
    assert {k: v[0] for k, v in req.form.items()} == {
        "receptor": "09120000001", "message": "سلام", "localid": "out-1", "sender": SENDER,
    }  # fmt: skip
    assert result.local_id == "out-1"
    assert result.provider_message_id == str(fake.accepted[0].messageid)
    assert (result.state, result.cost, result.provider_status, result.error) == (
        DeliveryState.QUEUED, 120, "1", None,
    )  # fmt: skip


async def test_sendarray_batch_carries_localmessageids(
    kave: KavenegarProvider, fake: FakeKavenegar
) -> None:
    batch = [sms(i, text=f"پیام {i}") for i in range(1, 4)]
    results = await kave.send(batch)
    [req] = fake.requests
    assert (req.scope, req.method) == ("sms", "sendarray")
    assert json.loads(req.one("receptor")) == [m.receptor for m in batch]
    assert json.loads(req.one("sender")) == [SENDER] * 3
    assert json.loads(req.one("message")) == [m.text for m in batch]
    assert json.loads(req.one("localmessageids")) == ["out-1", "out-2", "out-3"]
    assert [r.local_id for r in results] == ["out-1", "out-2", "out-3"]
    assert [r.provider_message_id for r in results] == [str(s.messageid) for s in fake.accepted]
    assert [s.message for s in fake.accepted] == ["پیام 1", "پیام 2", "پیام 3"]


async def test_timeout_is_unknown_and_a_resend_is_not_a_second_sms(
    kave: KavenegarProvider, fake: FakeKavenegar
) -> None:
    fake.delay = TIMEOUT * 3  # the fake accepts, then answers too late
    with pytest.raises(AmbiguousError) as caught:
        await kave.send([sms(1), sms(2)])
    assert (caught.value.kind, caught.value.code) == ("unknown", "timeout")
    fake.delay = 0
    results = await kave.send([sms(1), sms(2)])
    assert fake.sms_count_by_localid == {"out-1": 1, "out-2": 1}
    assert [r.provider_message_id for r in results] == [str(s.messageid) for s in fake.accepted]


async def test_otp_goes_through_verify_lookup(kave: KavenegarProvider, fake: FakeKavenegar) -> None:
    msg = OutgoingSms("out-9", "09121234567", "کد شما: 4821", OtpParams("", "4821"))
    [result] = await kave.send([msg])
    [req] = fake.requests
    assert (req.scope, req.method) == ("verify", "lookup")
    form = {k: v[0] for k, v in req.form.items()}
    assert form == {"receptor": "09121234567", "template": "otp", "token": "4821"}
    assert fake.accepted[0].message == "کد شما: 4821"
    assert result.state is DeliveryState.QUEUED
    assert "4821" not in repr(msg)


async def test_mixed_batch_sends_plain_then_lookups(
    kave: KavenegarProvider, fake: FakeKavenegar
) -> None:
    otp = OutgoingSms("out-5", "09121234567", "کد", OtpParams("otp", "77", token2="x"))
    results = await kave.send([sms(1), otp, sms(2)])
    assert [(r.scope, r.method) for r in fake.requests] == [
        ("sms", "sendarray"), ("verify", "lookup"),
    ]  # fmt: skip
    assert [r.local_id for r in results] == ["out-1", "out-5", "out-2"]
    assert all(r.error is None for r in results)


async def test_bad_receptor_in_a_batch_fails_only_that_message(
    kave: KavenegarProvider, fake: FakeKavenegar
) -> None:
    fake.bad_receptors["09120000002"] = 411
    results = await kave.send([sms(1), sms(2), sms(3)])
    assert [r.state for r in results] == [
        DeliveryState.QUEUED, DeliveryState.FAILED, DeliveryState.QUEUED,
    ]  # fmt: skip
    bad = results[1]
    assert isinstance(bad.error, PermanentError)
    assert (bad.provider_status, bad.provider_message_id) == ("411", None)
    assert fake.sms_count_by_localid == {"out-1": 1, "out-3": 1}


async def test_lookup_failure_after_plain_sent_is_reported_per_message(
    kave: KavenegarProvider, fake: FakeKavenegar
) -> None:
    otp = OutgoingSms("out-5", "09121234567", "کد", OtpParams("missing-template", "77"))
    results = await kave.send([sms(1), otp])
    assert results[0].error is None
    assert isinstance(results[1].error, PermanentError)
    assert results[1].provider_status == "424"


@pytest.mark.parametrize(
    ("code", "state"),
    [(1, "queued"), (2, "queued"), (4, "sent"), (5, "sent"), (6, "failed"), (10, "delivered"),
     (11, "undelivered"), (13, "failed"), (14, "failed"), (100, "unknown")],
)  # fmt: skip
async def test_status_query_maps_codes(
    kave: KavenegarProvider, fake: FakeKavenegar, code: int, state: str
) -> None:
    [sent] = await kave.send([sms(1)])
    assert sent.provider_message_id is not None
    fake.set_status(int(sent.provider_message_id), code)
    [report] = await kave.query_status([sent.provider_message_id])
    assert fake.requests[-1].one("messageid") == sent.provider_message_id
    assert (report.provider_message_id, report.state, report.provider_status) == (
        sent.provider_message_id, DeliveryState(state), str(code),
    )  # fmt: skip


async def test_status_query_of_unknown_id_and_by_local_id(
    kave: KavenegarProvider, fake: FakeKavenegar
) -> None:
    [report] = await kave.query_status(["1"])
    assert report.state is DeliveryState.UNKNOWN
    [sent] = await kave.send([sms(1)])
    now = time.time()
    lost = [Handed("out-1", "09121234567", "x", now), Handed("out-404", "09121234567", "y", now)]
    verdicts = await kave.reconcile(lost, frozenset(), now)
    assert (fake.requests[-1].scope, fake.requests[-1].method) == ("sms", "statuslocalmessageid")
    assert fake.requests[-1].one("localid") == "out-1,out-404"
    assert [(v.local_id, v.verdict, v.provider_message_id, v.state) for v in verdicts] == [
        ("out-1", Verdict.ACCEPTED, sent.provider_message_id, DeliveryState.QUEUED),
        ("out-404", Verdict.ABSENT, None, DeliveryState.QUEUED),
    ]
    # A lookup carries no local id, and a status older than Kavenegar keeps proves nothing.
    old = [
        Handed("out-1", "09121234567", "x", now - 48 * 3600),
        Handed("o", "0912", "t", now, True),
    ]
    assert {v.verdict for v in await kave.reconcile(old, frozenset(), now)} == {Verdict.UNKNOWN}


@pytest.mark.parametrize("case", CALLBACKS["status"], ids=lambda c: c["name"])
def test_status_callback_parsing(kave: KavenegarProvider, case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(ValueError, match=f"^{case['error']}$"):
            kave.parse_status_callback(case["fields"])
        return
    [report] = kave.parse_status_callback(case["fields"])
    assert {
        "provider_message_id": report.provider_message_id, "state": report.state.value,
        "provider_status": report.provider_status, "local_id": report.local_id,
    } == case["expect"]  # fmt: skip


@pytest.mark.parametrize("case", CALLBACKS["inbound"], ids=lambda c: c["name"])
def test_inbound_parsing(kave: KavenegarProvider, case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(ValueError, match=f"^{case['error']}$"):
            kave.parse_inbound(case["fields"])
        return
    got = kave.parse_inbound(case["fields"])
    assert {
        "provider_message_id": got.provider_message_id, "sender": got.sender,
        "receiver": got.receiver, "text": got.text,
    } == case["expect"]  # fmt: skip


async def test_receive_unread_takes_each_inbound_once(
    kave: KavenegarProvider, fake: FakeKavenegar
) -> None:
    mid = fake.add_inbound("989121234567", "30002225", "وضعیت")
    fake.add_inbound("09121234567", "30009999", "other line")
    [got] = await kave.receive_unread("30002225")
    assert fake.requests[-1].form == {"linenumber": ["30002225"], "isread": ["0"]}
    assert (got.provider_message_id, got.sender, got.receiver, got.text) == (
        str(mid), "09121234567", "30002225", "وضعیت",
    )  # fmt: skip
    assert await kave.receive_unread("30002225") == []


@pytest.mark.parametrize(("code", "kind"), sorted(ERROR_KINDS.items()))
async def test_each_return_status_is_classified(
    kave: KavenegarProvider, fake: FakeKavenegar, code: int, kind: str
) -> None:
    fake.fail(code)
    with pytest.raises(ProviderError) as caught:
        await kave.send([sms(1)])
    expected = {"retryable": RetryableError, "account": AccountError, "permanent": PermanentError}
    assert isinstance(caught.value, expected[kind])
    assert (caught.value.kind, caught.value.code, caught.value.provider) == (
        kind, str(code), "kavenegar",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("http_status", "kind"), [(503, "retryable"), (429, "retryable"), (500, "unknown"),
                              (502, "unknown"), (504, "unknown"), (200, "unknown")]
)  # fmt: skip
async def test_an_answer_without_envelope_is_a_refusal_only_when_its_status_says_so(
    kave: KavenegarProvider, fake: FakeKavenegar, http_status: int, kind: str
) -> None:
    """503 and 429 turn the request away; a 500, a proxy's 502 or 504, or a 200 that is no
    envelope may come after Kavenegar took it: unknown, so it is checked, never resent blind."""
    fake.http_error = http_status
    with pytest.raises(ProviderError) as caught:
        await kave.send([sms(1)])
    assert (caught.value.kind, caught.value.code) == (kind, str(http_status))


async def test_connection_refused_is_retryable(kave: KavenegarProvider, server: TestServer) -> None:
    await server.close()
    with pytest.raises(RetryableError) as caught:
        await kave.send([sms(1)])
    assert caught.value.code == "network"


async def test_the_key_never_shows(
    fake: FakeKavenegar,
    server: TestServer,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key = "SECRETKEY7f3a9c"
    kave = KavenegarProvider(session, key, SENDER, str(server.make_url("")), TIMEOUT)
    errors: list[ProviderError] = []
    for setup in ("wrong key", "418", "timeout", "down"):
        fake.fail_next.clear()
        if setup == "418":
            fake.fail(418)
        elif setup == "timeout":
            fake.api_key, fake.delay = key, TIMEOUT * 3
        elif setup == "down":
            await server.close()
        with pytest.raises(ProviderError) as caught:
            await kave.send([sms(1, text="رمز Ab3xYz9q")])
        errors.append(caught.value)
    assert [e.kind for e in errors] == ["account", "account", "unknown", "retryable"]
    assert not await kave.account_ok()
    for e in errors:
        for text in (str(e), repr(e), e.reason, repr(e.__context__), repr(e.__cause__)):
            assert key not in text
    # The fake server's own access log shows its paths; everything on the client side must not.
    client_side = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    assert client_side
    assert key not in client_side
    assert "09120000001" not in client_side


async def test_account_ok(kave: KavenegarProvider, fake: FakeKavenegar) -> None:
    assert await kave.account_ok()
    assert (fake.requests[-1].scope, fake.requests[-1].method) == ("account", "info")
    fake.fail(418)
    assert not await kave.account_ok()


@pytest.mark.parametrize("case", ANSWERS, ids=lambda c: c["name"])
async def test_recorded_answers(
    case: dict[str, Any], aiohttp_server: ServerFactory, session: aiohttp.ClientSession
) -> None:
    replay = Replay(case["http_status"], case["body"])
    srv = await aiohttp_server(replay.app())
    kave = KavenegarProvider(session, "KEY", SENDER, str(srv.make_url("")), TIMEOUT)
    messages = [OutgoingSms(**m) for m in case["messages"]]
    if "error" in case:
        with pytest.raises(ProviderError) as caught:
            await kave.send(messages)
        assert (caught.value.kind, caught.value.code) == (
            case["error"]["kind"],
            case["error"]["code"],
        )
    else:
        results = await kave.send(messages)
        assert [
            {"local_id": r.local_id, "provider_message_id": r.provider_message_id,
             "state": r.state.value, "cost": r.cost, "provider_status": r.provider_status}
            for r in results
        ] == case["results"]  # fmt: skip
    [seen] = replay.seen
    assert seen["path"] == case["path"]
    assert seen["body"] == case["request"]
