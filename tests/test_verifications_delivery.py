"""How verification codes leave: Kavenegar verify/lookup (and `type=call`) and sms.ir send/verify
when the operator names a template for the purpose, a plain templated SMS otherwise; ahead of
every notice; never late and never twice; and never in a log or the database in clear."""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from gateway.appkeys import SETTINGS
from tests.api_helpers import Client, bearer, call, sms, storage
from tests.conftest import FakeClock, GatewayFactory
from tests.dispatch_kit import Fakes, dispatcher, enqueue
from tests.postgres_kit import sqlite_only
from tests.test_provider_kavenegar_sdk import cert, sdk_client  # noqa: F401  (a fixture)

ME = "09121234567"
TEMPLATES = "activation=dargah-activation,delete_unit=dargah-delete"
ACTIVATION_TEXT = "کد فعال‌سازی درگاه: %token"


async def kavenegar_gateway(gateway: GatewayFactory, fakes: Fakes, **extra: Any) -> Client:
    fakes.kave.templates["dargah-activation"] = ACTIVATION_TEXT
    fakes.kave.templates["dargah-delete"] = "تأیید حذف: %token"
    return await gateway(
        **fakes.settings("kavenegar", kavenegar_verify_templates=TEMPLATES, **extra)
    )


async def start(client: Client, **body: Any) -> tuple[str, str]:
    """A new verification's id, and its code read from its seal before it goes."""
    auth = await bearer(client, "verify")
    status, answer = await call(client, "POST", "/v1/verifications", auth, {"mobile": ME, **body})
    assert status == 201, answer
    message = [m for m in await sms(client, ME) if m["template_id"].startswith("verify_")][-1]
    return answer["id"], message["code"]


async def approve(client: Client, verification_id: str, code: str) -> str:
    auth = await bearer(client, "verify")
    path = f"/v1/verifications/{verification_id}/check"
    status, answer = await call(client, "POST", path, auth, {"code": code})
    assert status == 200
    result: str = answer["status"]
    return result


def lookups(fakes: Fakes) -> list[Any]:
    return [r for r in fakes.kave.requests if (r.scope, r.method) == ("verify", "lookup")]


async def test_kavenegar_verify_lookup_exactly_as_sent(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    client = await kavenegar_gateway(gateway, fakes)
    verification_id, code = await start(client, purpose="activation")
    await dispatcher(client).run_once()
    [request] = lookups(fakes)
    assert request.http_method == "POST"
    assert request.form == {"receptor": [ME], "template": ["dargah-activation"], "token": [code]}
    [accepted] = fakes.kave.accepted
    assert accepted.message == ACTIVATION_TEXT.replace("%token", code)
    [row] = [m for m in await storage(client).outbox_messages(ME)]
    assert (row["status"], row["provider"], row["sealed"]) == ("sent", "kavenegar", None)
    assert not any(r.method == "send" for r in fakes.kave.requests)
    assert await approve(client, verification_id, code) == "approved"


async def test_a_voice_code_is_a_lookup_with_type_call(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    client = await kavenegar_gateway(gateway, fakes)
    _, code = await start(client, purpose="delete_unit", channel="voice")
    await dispatcher(client).run_once()
    [request] = lookups(fakes)
    assert request.form == {
        "receptor": [ME],
        "template": ["dargah-delete"],
        "token": [code],
        "type": ["call"],
    }


async def test_a_purpose_without_a_template_goes_as_its_own_text(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    client = await kavenegar_gateway(gateway, fakes)
    auth = await bearer(client, "verify")
    status, answer = await call(
        client, "POST", "/v1/verifications", auth,
        {"mobile": ME, "purpose": "password_recovery", "channel": "voice"},
    )  # fmt: skip
    assert (status, answer["code"]) == (400, "channel_unavailable")  # no template: no call
    _, code = await start(client, purpose="password_recovery")
    [message] = await sms(client, ME)
    await dispatcher(client).run_once()
    assert lookups(fakes) == []
    [request] = [r for r in fakes.kave.requests if r.method == "send"]
    assert request.form["message"] == [f"کد بازیابی رمز عبور: {code}\nاین کد را به هیچ‌کس ندهید."]
    assert request.form["localid"] == [message["id"]]


async def test_smsir_send_verify_exactly_as_sent(gateway: GatewayFactory, fakes: Fakes) -> None:
    client = await gateway(**fakes.settings("smsir", smsir_verify_templates="activation=100200"))
    auth = await bearer(client, "verify")
    status, answer = await call(
        client, "POST", "/v1/verifications", auth,
        {"mobile": ME, "purpose": "activation", "channel": "voice"},
    )  # fmt: skip
    assert (status, answer["code"]) == (400, "channel_unavailable")  # sms.ir has no voice
    verification_id, code = await start(client, purpose="activation")
    await dispatcher(client).run_once()
    [request] = [r for r in fakes.smsir.requests if r.path == "/v1/send/verify"]
    assert request.http_method == "POST"
    assert request.body == {
        "mobile": ME,
        "templateId": 100200,
        "parameters": [{"name": "token", "value": code}],
    }
    assert [a.text for a in fakes.smsir.accepted] == [f"کد شما: {code}"]
    assert await approve(client, verification_id, code) == "approved"


async def test_codes_jump_the_queue(gateway: GatewayFactory, fakes: Fakes) -> None:
    client = await kavenegar_gateway(gateway, fakes, dispatch_batch=1)
    await enqueue(client, "complaint_received", {"ticket": "1234"})  # a notice, waiting first
    _, code = await start(client, purpose="activation")
    await dispatcher(client).run_once()
    assert [r.method for r in fakes.kave.requests] == ["lookup"]
    await dispatcher(client).run_once()
    assert [r.method for r in fakes.kave.requests] == ["lookup", "send"]
    assert code


async def test_a_code_not_delivered_in_time_is_never_sent_late(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await kavenegar_gateway(gateway, fakes)
    verification_id, code = await start(client, purpose="activation")
    fakes.kave.http_error = 503
    await dispatcher(client).run_once()
    clock.advance(600)
    fakes.kave.http_error = None
    await dispatcher(client).run_once()
    [row] = await storage(client).outbox_messages(ME)
    assert row["status"] == "failed"
    assert row["error"].startswith("expired")
    assert row["sealed"] is None
    assert fakes.kave.accepted == []
    assert await approve(client, verification_id, code) == "expired"


async def test_a_lost_lookup_answer_is_never_sent_again(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await kavenegar_gateway(gateway, fakes)
    await start(client, purpose="activation")
    fakes.kave.cut_next = 1  # Kavenegar takes it; its answer never arrives
    await dispatcher(client).run_once()
    [row] = await storage(client).outbox_messages(ME)
    assert row["status"] == "unknown"
    for _ in range(5):  # checks come and go: a lookup carries no local id to look for
        clock.advance(120)
        await dispatcher(client).run_once()
    assert len(lookups(fakes)) == 1
    assert len(fakes.kave.accepted) == 1
    assert not any(r.method == "statuslocalmessageid" for r in fakes.kave.requests)
    [row] = await storage(client).outbox_messages(ME)
    assert row["status"] == "failed"
    assert row["error"].startswith("unknown_outcome")


kavenegar_sdk = pytest.importorskip("kavenegar")


async def test_the_sdk_sends_the_same_lookup_as_the_gateway(
    gateway: GatewayFactory,
    fakes: Fakes,
    cert: tuple[Path, Path],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The official client, written against the real Kavenegar, asks the fake for the same code
    with the same fields the gateway sent, and gets the same text: an independent witness."""
    client = await kavenegar_gateway(gateway, fakes)
    _, code = await start(client, purpose="delete_unit", channel="voice")
    await dispatcher(client).run_once()
    [ours] = lookups(fakes)
    crt, key = cert
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(crt, key)
    server = TestServer(fakes.kave.app(), host="127.0.0.1")
    await server.start_server(ssl=context)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(crt))
    try:
        api = sdk_client(fakes.kave, server)
        params = {k: v[0] for k, v in ours.form.items()}
        entries = await asyncio.to_thread(api.verify_lookup, params)
    finally:
        await server.close()
    theirs = lookups(fakes)[-1]
    assert theirs.form == ours.form
    assert theirs.http_method == ours.http_method == "POST"
    assert entries[0]["message"] == fakes.kave.accepted[0].message == f"تأیید حذف: {code}"


async def test_no_code_in_logs_or_at_rest(
    gateway: GatewayFactory,
    fakes: Fakes,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = await kavenegar_gateway(gateway, fakes)
    fakes.kave.http_error = 503  # the code waits in the outbox
    verification_id, code = await start(client, purpose="activation", national_id="0012345679")
    await dispatcher(client).run_once()
    rows = await storage(client).outbox_messages(ME)
    assert code not in repr(rows)  # the masked body, the sealed bytes
    found = await storage(client).get_verification(verification_id)
    assert found is not None
    assert code not in repr(found)
    fakes.kave.http_error = None
    clock.advance(30)
    await dispatcher(client).run_once()
    assert len(fakes.kave.accepted) == 1
    assert await approve(client, verification_id, code) == "wrong_code"  # no national ID given
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert code not in logged
    assert logged  # the run was logged


@sqlite_only
async def test_the_sqlite_files_hold_no_code(gateway: GatewayFactory, fakes: Fakes) -> None:
    client = await kavenegar_gateway(gateway, fakes)
    fakes.kave.http_error = 503
    _, code = await start(client, purpose="delete_unit")
    await dispatcher(client).run_once()
    db = Path(client.app[SETTINGS].db)
    files = [p for p in (db, Path(f"{db}-wal")) if p.exists()]
    assert files
    for path in files:
        raw = path.read_bytes()
        assert code.encode() not in raw, path
        assert code.encode("utf-16-le") not in raw, path
