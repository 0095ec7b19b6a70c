"""sms.ir adapter against the fake server and over recorded raw answers."""

from __future__ import annotations

import json
import logging
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
    OtpParams,
    OutgoingSms,
    PermanentError,
    ProviderError,
    RetryableError,
)
from providers.smsir import SmsIrProvider
from providers.smsir_codes import DELIVERY_STATES, ERROR_KINDS
from tests.fakes import Replay
from tests.fakes.smsir import FakeSmsIr

ANSWERS = json.loads(
    (Path(__file__).parent / "recorded" / "providers" / "smsir" / "answers.json").read_text(
        encoding="utf-8"
    )
)
LINE = "300000000000"
TIMEOUT = 0.5  # a fake on loopback answers in ms; a loaded CI machine needs slack

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def fake() -> FakeSmsIr:
    return FakeSmsIr()


@pytest.fixture
async def server(fake: FakeSmsIr, aiohttp_server: ServerFactory) -> TestServer:
    return await aiohttp_server(fake.app())


@pytest.fixture
def smsir(fake: FakeSmsIr, server: TestServer, session: aiohttp.ClientSession) -> SmsIrProvider:
    return SmsIrProvider(session, fake.api_key, LINE, str(server.make_url("")), TIMEOUT)


def sms(n: int, text: str = "سلام") -> OutgoingSms:
    return OutgoingSms(f"out-{n}", f"0912000{n:04d}", text)


async def test_bulk_for_one_text(smsir: SmsIrProvider, fake: FakeSmsIr) -> None:
    results = await smsir.send([sms(1), sms(2)])
    [req] = fake.requests
    assert (req.http_method, req.path) == ("POST", "/v1/send/bulk")
    assert req.headers["X-API-KEY"] == fake.api_key
    assert req.body == {
        "lineNumber": 300000000000, "mobiles": ["09120000001", "09120000002"],
        "messageText": "سلام", "sendDateTime": None,
    }  # fmt: skip
    assert [r.provider_message_id for r in results] == [str(s.message_id) for s in fake.accepted]
    assert all(r.state is DeliveryState.QUEUED for r in results)


async def test_like_to_like_for_several_texts(smsir: SmsIrProvider, fake: FakeSmsIr) -> None:
    await smsir.send([sms(1, "الف"), sms(2, "ب")])
    [req] = fake.requests
    assert req.path == "/v1/send/likeToLike"
    assert req.body["messageTexts"] == ["الف", "ب"]
    assert [s.text for s in fake.accepted] == ["الف", "ب"]


async def test_verify_for_numeric_templates(smsir: SmsIrProvider, fake: FakeSmsIr) -> None:
    msg = OutgoingSms("out-7", "09121234567", "کد شما: 4821", OtpParams("100200", "4821"))
    [result] = await smsir.send([msg])
    [req] = fake.requests
    assert req.path == "/v1/send/verify"
    assert req.body == {
        "mobile": "09121234567", "templateId": 100200,
        "parameters": [{"name": "token", "value": "4821"}],
    }  # fmt: skip
    assert fake.accepted[0].text == "کد شما: 4821"
    assert result.cost == 1


async def test_non_numeric_template_falls_back_to_text(
    smsir: SmsIrProvider, fake: FakeSmsIr
) -> None:
    await smsir.send([OutgoingSms("out-7", "09121234567", "کد 1", OtpParams("kave-tpl", "1"))])
    assert fake.requests[0].path == "/v1/send/bulk"


async def test_blacklisted_and_invalid_fail_per_message(
    smsir: SmsIrProvider, fake: FakeSmsIr
) -> None:
    fake.bad_receptors.update({"09120000002": "blacklist", "09120000003": "invalid"})
    results = await smsir.send([sms(1), sms(2), sms(3)])
    assert [r.state for r in results] == [
        DeliveryState.QUEUED, DeliveryState.FAILED, DeliveryState.FAILED,
    ]  # fmt: skip
    assert [r.provider_status for r in results] == ["1", "115", "104"]
    assert all(isinstance(r.error, PermanentError) for r in results[1:])


@pytest.mark.parametrize(("code", "state"), sorted(DELIVERY_STATES.items()))
async def test_report_maps_delivery_state(
    smsir: SmsIrProvider, fake: FakeSmsIr, code: int, state: DeliveryState
) -> None:
    [sent] = await smsir.send([sms(1)])
    assert sent.provider_message_id is not None
    fake.accepted[0].delivery_state = code
    [report] = await smsir.query_status([sent.provider_message_id])
    assert fake.requests[-1].path == f"/v1/send/{sent.provider_message_id}"
    assert (report.state, report.provider_status) == (state, str(code))


async def test_report_of_unknown_and_pending(smsir: SmsIrProvider, fake: FakeSmsIr) -> None:
    [sent] = await smsir.send([sms(1)])
    assert sent.provider_message_id is not None
    reports = await smsir.query_status([sent.provider_message_id, "1"])
    assert [r.state for r in reports] == [DeliveryState.QUEUED, DeliveryState.UNKNOWN]


@pytest.mark.parametrize(("code", "kind"), sorted(ERROR_KINDS.items()))
async def test_each_status_is_classified(
    smsir: SmsIrProvider, fake: FakeSmsIr, code: int, kind: str
) -> None:
    fake.fail(code)
    with pytest.raises(ProviderError) as caught:
        await smsir.send([sms(1)])
    expected = {"retryable": RetryableError, "account": AccountError, "permanent": PermanentError}
    assert isinstance(caught.value, expected[kind])
    assert (caught.value.kind, caught.value.code) == (kind, str(code))


@pytest.mark.parametrize(
    ("http_status", "kind"), [(500, "unknown"), (502, "unknown"), (200, "unknown"),
                              (503, "retryable"), (429, "retryable"), (401, "account")]
)  # fmt: skip
async def test_http_errors_without_envelope(
    smsir: SmsIrProvider, fake: FakeSmsIr, http_status: int, kind: str
) -> None:
    fake.http_error = http_status
    with pytest.raises(ProviderError) as caught:
        await smsir.send([sms(1)])
    assert (caught.value.kind, caught.value.code) == (kind, f"http_{http_status}")


async def test_wrong_key_is_an_account_error(
    fake: FakeSmsIr, server: TestServer, session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    key = "SMSIRSECRET42xyz"
    smsir = SmsIrProvider(session, key, LINE, str(server.make_url("")), TIMEOUT)
    with pytest.raises(AccountError) as caught:
        await smsir.send([sms(1)])
    assert caught.value.code == "10"
    assert not await smsir.account_ok()
    assert key not in str(caught.value)
    assert key not in caplog.text


async def test_a_timeout_is_unknown_and_a_refused_connection_retryable(
    smsir: SmsIrProvider, fake: FakeSmsIr, server: TestServer
) -> None:
    fake.delay = TIMEOUT * 3  # sms.ir took it, then answered too late: it may have sent it
    with pytest.raises(AmbiguousError) as caught:
        await smsir.send([sms(1)])
    assert caught.value.code == "timeout"
    assert len(fake.accepted) == 1
    await server.close()
    with pytest.raises(RetryableError) as refused:  # no connection made: nothing was sent
        await smsir.send([sms(1)])
    assert refused.value.code == "network"


def test_callback_and_inbound_parsing(smsir: SmsIrProvider) -> None:
    [report] = smsir.parse_status_callback({"messageId": "86522023", "deliveryState": "1"})
    assert (report.provider_message_id, report.state) == ("86522023", DeliveryState.DELIVERED)
    with pytest.raises(ValueError, match=r"^missing fields: deliveryState$"):
        smsir.parse_status_callback({"messageId": "86522023"})
    with pytest.raises(ValueError, match=r"^malformed fields: messageId$"):
        smsir.parse_status_callback({"messageId": "x", "deliveryState": "1"})
    got = smsir.parse_inbound(
        {"mobile": "989121234567", "number": LINE, "messageText": "۱", "receiveReturnId": "5"}
    )
    assert (got.provider_message_id, got.sender, got.receiver, got.text) == (
        "5", "09121234567", LINE, "۱",
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"^missing fields: mobile, receiveReturnId$"):
        smsir.parse_inbound({"number": LINE, "messageText": "x"})
    # A NUL or a lone surrogate, which no database stores, in an id or a number.
    with pytest.raises(ValueError, match=r"^malformed fields: number, receiveReturnId$"):
        smsir.parse_inbound(
            {"mobile": "989121234567", "number": "30\x00", "receiveReturnId": "5\ud800"}
        )


async def test_receive_unread_and_account(smsir: SmsIrProvider, fake: FakeSmsIr) -> None:
    fake.add_inbound("9121234567", LINE, "سلام")
    fake.add_inbound("9121234567", "3000999", "other line")
    [got] = await smsir.receive_unread(LINE)
    assert fake.requests[-1].path == "/v1/receive/latest?count=100"
    assert (got.sender, got.text) == ("09121234567", "سلام")
    assert await smsir.receive_unread(LINE) == []
    assert await smsir.account_ok()
    fake.credit = 0
    assert not await smsir.account_ok()


@pytest.mark.parametrize("case", ANSWERS, ids=lambda c: c["name"])
async def test_recorded_answers(
    case: dict[str, Any], aiohttp_server: ServerFactory, session: aiohttp.ClientSession
) -> None:
    replay = Replay(case["http_status"], case["body"])
    srv = await aiohttp_server(replay.app())
    smsir = SmsIrProvider(session, "KEY", LINE, str(srv.make_url("")), TIMEOUT)
    messages = [OutgoingSms(**m) for m in case["messages"]]
    if "error" in case:
        with pytest.raises(ProviderError) as caught:
            await smsir.send(messages)
        assert (caught.value.kind, caught.value.code) == (
            case["error"]["kind"],
            case["error"]["code"],
        )
    else:
        results = await smsir.send(messages)
        assert [
            {"local_id": r.local_id, "provider_message_id": r.provider_message_id,
             "state": r.state.value, "cost": r.cost, "provider_status": r.provider_status}
            for r in results
        ] == case["results"]  # fmt: skip
    [seen] = replay.seen
    assert (seen["path"], seen["body"], seen["headers"]["X-API-KEY"]) == (
        case["path"], case["request"], "KEY",
    )  # fmt: skip
