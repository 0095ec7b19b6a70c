"""Verification codes on their way out, attacked: a code beside bulk notices, a lost answer for
one code among several, a crash between the provider's acceptance and the commit, an answer
after the timeout, an account error with a fallback, on Kavenegar and sms.ir, by their OTP
routes and as plain texts."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from gateway.appkeys import SETTINGS
from providers.base import (
    AmbiguousError,
    DeliveryState,
    OtpParams,
    OutgoingSms,
    SendResult,
    one_by_one,
)
from tests.api_helpers import Client, bearer, call, sms, storage
from tests.conftest import FakeClock, GatewayFactory
from tests.dispatch_kit import Fakes, dispatcher, enqueue
from tests.postgres_kit import sqlite_only
from tests.test_delivery_guarantees import crash_once_after_the_provider_answered, restarted

ME = "09121234567"
OTHERS = ["09351110001", "09191110002", "09121110003"]
KAVE_TEMPLATES = "activation=dargah-activation,delete_unit=dargah-delete"
SMSIR_TEMPLATES = "activation=100200,delete_unit=100200"


async def code_gateway(
    gateway: GatewayFactory, fakes: Fakes, provider: str, otp_route: bool, **extra: Any
) -> Client:
    """A gateway sending through `provider`; with `otp_route`, codes go by its OTP route."""
    fakes.kave.templates["dargah-activation"] = "کد فعال‌سازی درگاه: %token"
    fakes.kave.templates["dargah-delete"] = "تأیید حذف: %token"
    routes: dict[str, Any] = {}
    if otp_route:
        routes = {
            "kavenegar_verify_templates": KAVE_TEMPLATES,
            "smsir_verify_templates": SMSIR_TEMPLATES,
        }
    return await gateway(**fakes.settings(provider, **routes, **extra))


async def start(client: Client, mobile: str = ME, **body: Any) -> tuple[str, str, str]:
    """A new verification: its id, its code and its outbox message's id."""
    auth = await bearer(client, "verify")
    status, answer = await call(
        client,
        "POST",
        "/v1/verifications",
        auth,
        {"mobile": mobile, "purpose": "activation", **body},
    )
    assert status == 201, answer
    found = await storage(client).get_verification(answer["id"])
    assert found is not None
    [message] = [m for m in await sms(client, mobile) if m["id"] == found.message_id]
    return answer["id"], message["code"], found.message_id


async def check(client: Client, verification_id: str, code: str) -> str:
    auth = await bearer(client, "verify")
    path = f"/v1/verifications/{verification_id}/check"
    status, answer = await call(client, "POST", path, auth, {"code": code})
    assert status == 200
    result: str = answer["status"]
    return result


async def outbox_row(client: Client, message_id: str) -> dict[str, Any]:
    [row] = [r for r in await storage(client).outbox_messages() if r["id"] == message_id]
    return row


def recipients_per_call(fakes: Fakes, provider: str) -> list[list[str]]:
    """The numbers each send request carried, in order."""
    calls: list[list[str]] = []
    if provider == "kavenegar":
        for r in fakes.kave.requests:
            if (r.scope, r.method) in {("sms", "send"), ("verify", "lookup")}:
                calls.append([r.one("receptor")])
            elif (r.scope, r.method) == ("sms", "sendarray"):
                calls.append(json.loads(r.one("receptor")))
        return calls
    for s in fakes.smsir.requests:
        if s.path == "/v1/send/verify":
            calls.append([s.body["mobile"]])
        elif s.path in {"/v1/send/bulk", "/v1/send/likeToLike"}:
            calls.append(list(s.body["mobiles"]))
    return calls


def accepted(fakes: Fakes, provider: str) -> Counter[str]:
    if provider == "kavenegar":
        return Counter(a.receptor for a in fakes.kave.accepted)
    return Counter(a.mobile for a in fakes.smsir.accepted)


PROVIDERS = ["kavenegar", "smsir"]
ROUTES = pytest.mark.parametrize("otp_route", [True, False], ids=["otp route", "plain text"])


# --- one code per provider call --------------------------------------------------------------


@ROUTES
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_code_goes_in_a_call_of_its_own(
    gateway: GatewayFactory, fakes: Fakes, provider: str, otp_route: bool
) -> None:
    """Never batched with notices (sendarray, bulk, likeToLike): a batch's fault, slowness or
    partial refusal never touches a code, and a code's never touches the notices."""
    client = await code_gateway(gateway, fakes, provider, otp_route)
    for i, number in enumerate(OTHERS):
        await enqueue(client, recipient=number, params={"ticket": f"12{i}4"})
    _, code, message_id = await start(client)
    await dispatcher(client).run_once()
    calls = recipients_per_call(fakes, provider)
    assert [ME] in calls
    assert all(ME not in numbers for numbers in calls if numbers != [ME])
    assert sorted(n for numbers in calls if numbers != [ME] for n in numbers) == sorted(OTHERS)
    assert accepted(fakes, provider) == Counter([ME, *OTHERS])
    assert (await outbox_row(client, message_id))["status"] == "sent"
    assert code


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_lost_answer_for_one_code_loses_no_other(
    gateway: GatewayFactory, fakes: Fakes, provider: str
) -> None:
    """Two codes due together; the first call's answer is lost (the provider took it). The other
    code still goes, in its own call, and is `sent`; only the lost one is `unknown`."""
    client = await code_gateway(gateway, fakes, provider, otp_route=True)
    first = await start(client, ME)
    second = await start(client, OTHERS[0])
    if provider == "kavenegar":
        fakes.kave.cut_next = 1
    else:
        fakes.smsir.cut_next = 1
    await dispatcher(client).run_once()
    assert accepted(fakes, provider) == Counter([ME, OTHERS[0]])
    statuses = sorted([(await outbox_row(client, m))["status"] for _, _, m in (first, second)])
    assert statuses == ["sent", "unknown"]


# --- a crash between the provider's acceptance and the commit --------------------------------


@ROUTES
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_crash_after_the_provider_took_a_code_never_sends_it_again(
    gateway: GatewayFactory,
    fakes: Fakes,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    otp_route: bool,
) -> None:
    client = await code_gateway(gateway, fakes, provider, otp_route)
    _, _, message_id = await start(client)
    crash_once_after_the_provider_answered(client, monkeypatch)
    with pytest.raises(RuntimeError, match="killed"):
        await dispatcher(client).run_once()
    assert accepted(fakes, provider) == Counter([ME])
    after = restarted(client, clock)
    for _ in range(24):  # past the lease, every check, and the code's expiry
        clock.advance(31)
        await after.run_once()
    assert accepted(fakes, provider) == Counter([ME])  # taken once, never sent again
    row = await outbox_row(client, message_id)
    assert (row["status"], row["sealed"]) == ("failed", None)
    assert row["error"].startswith("unknown_outcome")
    assert len(recipients_per_call(fakes, provider)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_crash_after_the_provider_took_a_code_leaves_it_checkable(
    gateway: GatewayFactory,
    fakes: Fakes,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
) -> None:
    """The person got the code: whatever the outbox does not know, the check approves it."""
    client = await code_gateway(gateway, fakes, provider, otp_route=True)
    verification_id, code, _ = await start(client)
    crash_once_after_the_provider_answered(client, monkeypatch)
    with pytest.raises(RuntimeError, match="killed"):
        await dispatcher(client).run_once()
    clock.advance(60)
    await restarted(client, clock).run_once()
    assert await check(client, verification_id, code) == "approved"


# --- provider faults on the OTP routes -------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "body"),
    [("kavenegar", {"channel": "voice"}), ("kavenegar", {}), ("smsir", {})],
    ids=["kavenegar call", "kavenegar lookup", "smsir verify"],
)
async def test_an_answer_after_the_timeout_is_unknown_never_resent_nor_failed_over(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock, provider: str, body: dict[str, Any]
) -> None:
    fallback = "smsir" if provider == "kavenegar" else "kavenegar"
    client = await code_gateway(
        gateway, fakes, provider, True, provider_timeout_s=0.05, sms_fallback=fallback
    )
    verification_id, code, message_id = await start(client, **body)
    fake = fakes.kave if provider == "kavenegar" else fakes.smsir
    fake.delay = 0.3  # takes the request at once, answers too late
    await dispatcher(client).run_once()
    fake.delay = 0.0
    assert (await outbox_row(client, message_id))["status"] == "unknown"
    clock.advance(60)  # the person types the code a minute after it came
    assert await check(client, verification_id, code) == "approved"
    for _ in range(24):
        clock.advance(31)
        await dispatcher(client).run_once()
    assert accepted(fakes, provider) == Counter([ME])
    assert accepted(fakes, fallback) == Counter()  # never failed over blind
    row = await outbox_row(client, message_id)
    assert (row["status"], row["error"][:15]) == ("failed", "unknown_outcome")
    if body:
        [lookup] = [r for r in fakes.kave.requests if r.method == "lookup"]
        assert lookup.one("type") == "call"


@pytest.mark.parametrize("body", [{}, {"channel": "voice"}], ids=["sms", "call"])
async def test_kavenegar_out_of_credit_fails_a_code_over_to_smsir_once(
    gateway: GatewayFactory, fakes: Fakes, body: dict[str, Any]
) -> None:
    """418 (no credit) is an account error: Kavenegar is paused and the code, provably not
    taken, goes through sms.ir's verify route once (sms.ir has no voice route: a call becomes
    an SMS rather than no code at all)."""
    client = await code_gateway(gateway, fakes, "kavenegar", True, sms_fallback="smsir")
    verification_id, code, message_id = await start(client, **body)
    fakes.kave.no_credit = True
    await dispatcher(client).run_once()
    await dispatcher(client).run_once()
    assert [r.method for r in fakes.kave.requests if r.method == "lookup"] == ["lookup"]
    assert fakes.kave.accepted == []
    [verify] = [r for r in fakes.smsir.requests if r.path == "/v1/send/verify"]
    assert verify.body["parameters"] == [{"name": "token", "value": code}]
    assert accepted(fakes, "smsir") == Counter([ME])
    row = await outbox_row(client, message_id)
    assert (row["status"], row["provider"]) == ("sent", "smsir")
    assert await check(client, verification_id, code) == "approved"


async def test_smsir_out_of_credit_fails_a_code_over_to_kavenegar_once(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    client = await code_gateway(gateway, fakes, "smsir", True, sms_fallback="kavenegar")
    verification_id, code, message_id = await start(client)
    fakes.smsir.no_credit = True
    await dispatcher(client).run_once()
    await dispatcher(client).run_once()
    assert fakes.smsir.accepted == []
    [lookup] = [r for r in fakes.kave.requests if r.method == "lookup"]
    assert lookup.form == {"receptor": [ME], "template": ["dargah-activation"], "token": [code]}
    row = await outbox_row(client, message_id)
    assert (row["status"], row["provider"]) == ("sent", "kavenegar")
    assert await check(client, verification_id, code) == "approved"


# --- never in a log, never at rest -----------------------------------------------------------


@sqlite_only
@ROUTES
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_no_code_in_logs_or_files_on_any_route_or_fault(
    gateway: GatewayFactory,
    fakes: Fakes,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    provider: str,
    otp_route: bool,
) -> None:
    """A refusal, a lost answer, a check typed in Persian digits, a wrong try: the code is in no
    log line (in any digit script) and in neither database file once it has gone."""
    caplog.set_level(logging.DEBUG)
    client = await code_gateway(gateway, fakes, provider, otp_route)
    fake = fakes.kave if provider == "kavenegar" else fakes.smsir
    verification_id, code, message_id = await start(client)
    fake.http_error = 503
    await dispatcher(client).run_once()
    fake.http_error = None
    fake.cut_next = 1
    clock.advance(30)
    await dispatcher(client).run_once()
    assert (await outbox_row(client, message_id))["status"] == "unknown"
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert await check(client, verification_id, wrong) == "wrong_code"
    assert await check(client, verification_id, f"{persian[:3]} {persian[3:]}") == "approved"
    for _ in range(24):
        clock.advance(31)
        await dispatcher(client).run_once()
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    assert logged
    for form in (code, persian):
        assert form not in logged
    db = Path(client.app[SETTINGS].db)
    for path in (p for p in (db, Path(f"{db}-wal")) if p.exists()):
        raw = path.read_bytes()
        for form in (code, persian):
            assert form.encode() not in raw, path
            assert form.encode("utf-16-le") not in raw, path


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_failed_commit_in_a_running_dispatcher_never_holds_a_code_for_ever(
    gateway: GatewayFactory,
    fakes: Fakes,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
) -> None:
    """The commit after the provider's acceptance fails (the database was busy), and this
    dispatcher goes on: the code is handed to a check once its lease runs out, as after a
    crash; it ends `unknown_outcome` at its expiry with its sealed text dropped, never resent."""
    client = await code_gateway(gateway, fakes, provider, otp_route=False)
    _, _, message_id = await start(client)
    crash_once_after_the_provider_answered(client, monkeypatch)
    with pytest.raises(RuntimeError, match="killed"):
        await dispatcher(client).run_once()
    for _ in range(24):
        clock.advance(31)
        await dispatcher(client).run_once()
    assert accepted(fakes, provider) == Counter([ME])
    row = await outbox_row(client, message_id)
    assert (row["status"], row["sealed"]) == ("failed", None)
    assert row["error"].startswith("unknown_outcome")
    assert dispatcher(client)._held == {}


# --- the adapters alone: a call never made is never unknown ----------------------------------


def kind(result: SendResult) -> tuple[str, str] | None:
    return (result.error.kind, result.error.code) if result.error is not None else None


def outgoing(local_id: str, receptor: str, token: str | None = None) -> OutgoingSms:
    otp = OtpParams("", token, purpose="activation") if token is not None else None
    return OutgoingSms(local_id, receptor, f"کد شما: {token}" if token else "اطلاعیه", otp)


@pytest.mark.parametrize("lost", ["the batch", "the first code"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_adapter_given_codes_beside_a_batch_never_makes_an_untried_one_unknown(
    gateway: GatewayFactory, fakes: Fakes, provider: str, lost: str
) -> None:
    """Handed a notice and two codes at once (the dispatcher no longer does this, the adapter
    must still be right): the call whose answer is lost is `unknown`; the calls after it are not
    made, and their codes are refused as not sent (they may go again), never `unknown`."""
    client = await code_gateway(gateway, fakes, provider, otp_route=True)
    adapter = dispatcher(client).routes[0]
    fake = fakes.kave if provider == "kavenegar" else fakes.smsir
    batch = [
        outgoing("n1", OTHERS[0]),
        outgoing("c1", ME, "482913"),
        outgoing("c2", OTHERS[1], "113355"),
    ]
    if lost == "the batch":
        fake.cut_next = 1
        results = {r.local_id: r for r in await adapter.send(batch)}
        assert accepted(fakes, provider) == Counter([OTHERS[0]])
        assert kind(results["n1"]) == ("unknown", "network")
        untried = ["c1", "c2"]
    else:
        await adapter.send(batch[:1])  # the notice alone goes first, answered
        fake.cut_next = 1
        results = {r.local_id: r for r in await adapter.send(batch[1:])}
        assert accepted(fakes, provider) == Counter([OTHERS[0], ME])
        assert kind(results["c1"]) == ("unknown", "network")
        untried = ["c2"]
    for local_id in untried:
        assert kind(results[local_id]) == ("retryable", "not_sent")


async def test_one_by_one_never_makes_the_messages_it_did_not_try_unknown() -> None:
    made: list[list[str]] = []

    async def send(msgs: Sequence[OutgoingSms]) -> dict[str, SendResult]:
        made.append([m.local_id for m in msgs])
        if len(made) == 2:
            raise AmbiguousError("timeout", "no answer", "kavenegar")
        return {
            m.local_id: SendResult(m.local_id, "1", DeliveryState.QUEUED, None, "1") for m in msgs
        }

    msgs = [outgoing(f"m{i}", OTHERS[i]) for i in range(3)]
    out = await one_by_one(send, msgs)
    assert made == [["m0"], ["m1"]]
    assert out["m0"].error is None
    assert kind(out["m1"]) == ("unknown", "timeout")
    assert kind(out["m2"]) == ("retryable", "not_sent")
