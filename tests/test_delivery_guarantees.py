"""Exactly once, or honestly unknown, on every provider and every path.

The real dispatcher against the fake Kavenegar and the fake sms.ir (real HTTP on loopback), on the
test's clock: every provider × every fault × a crash or not, failover, an account error longer
than any retry budget, and what a stop gives back. Each case counts the SMS each fake took per
message (exactly one) and checks each message's final state and provider id.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from gateway.appkeys import SETTINGS, STORAGE
from providers.dispatcher import Dispatcher
from sessions.records import OutboundSms
from tests.conftest import FakeClock, GatewayFactory
from tests.dispatch_kit import Client, Fakes, dispatcher, enqueue, row

NUMBERS = ["09121110001", "09121110002", "09351110003", "09191110004", "09121110005"]
TIMEOUT: dict[str, Any] = {"provider_timeout_s": 0.05}
LATE_S = 0.2  # the fake takes the request at once and answers after this


def set_fault(fakes: Fakes, provider: str, fault: str, on: bool) -> None:
    """Turns one fault of one fake on or off."""
    fake = fakes.kave if provider == "kavenegar" else fakes.smsir
    if fault == "late":
        fake.delay = LATE_S if on else 0.0
    elif fault == "cut":
        fake.cut_next = 1 if on else 0
    elif fault == "drop":
        fake.drop_next = 1 if on else 0
    elif fault == "5xx":
        fake.http_error = 503 if on else None
    elif fault == "busy":
        fake.fail_next.clear()
        if on and provider == "kavenegar":
            fakes.kave.fail(409, times=100)  # "cannot answer now"
        elif on:
            fakes.smsir.fail(20, 429, times=100)  # throttled
    elif fault == "account":
        fake.no_credit = on


def accepted_per_recipient(fakes: Fakes, provider: str) -> Counter[str]:
    if provider == "kavenegar":
        return Counter(a.receptor for a in fakes.kave.accepted)
    return Counter(a.mobile for a in fakes.smsir.accepted)


def provider_ids(fakes: Fakes, provider: str) -> dict[str, str]:
    if provider == "kavenegar":
        return {a.receptor: str(a.messageid) for a in fakes.kave.accepted}
    return {a.mobile: str(a.message_id) for a in fakes.smsir.accepted}


async def notices(client: Client, numbers: list[str] = NUMBERS) -> dict[str, OutboundSms]:
    return {n: await enqueue(client, recipient=n, params={"ticket": n[-4:]}) for n in numbers}


async def passes(
    client: Client, clock: FakeClock, d: Dispatcher | None = None, n: int = 12
) -> None:
    """Dispatcher passes with half a minute between them: past every check delay and probe."""
    for _ in range(n):
        await (d or dispatcher(client)).run_once()
        clock.advance(31)


def crash_once_after_the_provider_answered(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies between the provider's answer and the commit that records it."""
    storage = client.app[STORAGE]
    real = storage.record_outcomes
    crashes = [RuntimeError("killed")]

    async def record(*args: Any) -> int:
        if crashes:
            raise crashes.pop()
        written: int = await real(*args)
        return written

    monkeypatch.setattr(storage, "record_outcomes", record)


def restarted(client: Client, clock: FakeClock) -> Dispatcher:
    old = dispatcher(client)
    return Dispatcher(
        client.app[STORAGE],
        old.routes[0],
        client.app[SETTINGS].dispatch_config(),
        fallback=old.routes[1] if len(old.routes) > 1 else None,
        clock=clock,
        sealer=old._sealer,
    )


FAULTS = ["none", "late", "cut", "drop", "5xx", "busy", "account"]


@pytest.mark.parametrize("crash", [False, True], ids=["no crash", "crash"])
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("provider", ["kavenegar", "smsir"])
async def test_every_provider_fault_and_crash_sends_each_message_once(
    gateway: GatewayFactory,
    fakes: Fakes,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    fault: str,
    crash: bool,
) -> None:
    client = await gateway(**fakes.settings(provider, **TIMEOUT))
    sent = await notices(client)
    set_fault(fakes, provider, fault, on=True)
    if crash:
        crash_once_after_the_provider_answered(client, monkeypatch)
        with pytest.raises(RuntimeError):
            await dispatcher(client).run_once()
    else:
        await dispatcher(client).run_once()
    set_fault(fakes, provider, fault, on=False)
    await passes(client, clock, restarted(client, clock) if crash else None)

    assert accepted_per_recipient(fakes, provider) == dict.fromkeys(NUMBERS, 1)
    ids = provider_ids(fakes, provider)
    for number, sms in sent.items():
        r = await row(client, sms.id)
        assert (r["status"], r["provider"]) == ("sent", provider), (number, r)
        assert r["provider_message_id"] == ids[number]
    other = "smsir" if provider == "kavenegar" else "kavenegar"
    assert not accepted_per_recipient(fakes, other)


@pytest.mark.parametrize("fault", ["account", "5xx"])
@pytest.mark.parametrize("primary", ["kavenegar", "smsir"])
async def test_what_the_primary_provably_refused_goes_to_the_fallback_at_once(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock, primary: str, fault: str
) -> None:
    fallback = "smsir" if primary == "kavenegar" else "kavenegar"
    client = await gateway(**fakes.settings(primary, sms_fallback=fallback, **TIMEOUT))
    set_fault(fakes, primary, fault, on=True)
    sent = await notices(client)
    await dispatcher(client).run_once()  # refused: the primary is paused (or failing)
    await dispatcher(client).run_once()  # the same pass's messages go through the fallback
    assert not accepted_per_recipient(fakes, primary)
    assert accepted_per_recipient(fakes, fallback) == dict.fromkeys(NUMBERS, 1)
    for sms in sent.values():
        r = await row(client, sms.id)
        assert (r["status"], r["provider"]) == ("sent", fallback)


@pytest.mark.parametrize("primary", ["kavenegar", "smsir"])
async def test_a_lost_answer_then_an_account_error_never_fails_over(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock, primary: str
) -> None:
    """The primary took the messages but its answers were lost; then its account broke (checks
    refused too). The messages wait for the primary, and are never sent by the fallback."""
    fallback = "smsir" if primary == "kavenegar" else "kavenegar"
    client = await gateway(**fakes.settings(primary, sms_fallback=fallback, **TIMEOUT))
    sent = await notices(client)
    set_fault(fakes, primary, "late", on=True)
    await dispatcher(client).run_once()
    assert {(await row(client, s.id))["status"] for s in sent.values()} == {"unknown"}
    set_fault(fakes, primary, "late", on=False)
    # Kavenegar's checks answer 418 as well; sms.ir's reports stay readable, so a broken sms.ir
    # account is simulated by its reports failing.
    if primary == "kavenegar":
        fakes.kave.fail(418, times=1000)
    else:
        fakes.smsir.http_error = 401
    await passes(client, clock, n=6)
    assert not accepted_per_recipient(fakes, fallback)
    assert {(await row(client, s.id))["status"] for s in sent.values()} == {"unknown"}
    fakes.kave.fail_next.clear()
    fakes.smsir.http_error = None
    await passes(client, clock, n=30)  # once it can be asked again, each is found there
    assert accepted_per_recipient(fakes, primary) == dict.fromkeys(NUMBERS, 1)
    assert not accepted_per_recipient(fakes, fallback)
    for sms in sent.values():
        assert (await row(client, sms.id))["status"] == "sent"


@pytest.mark.parametrize("provider", ["kavenegar", "smsir"])
async def test_an_account_error_longer_than_any_retry_budget_then_recovery(
    gateway: GatewayFactory,
    fakes: Fakes,
    clock: FakeClock,
    provider: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await gateway(**fakes.settings(provider))
    set_fault(fakes, provider, "account", on=True)
    sent = await notices(client)
    with caplog.at_level(logging.ERROR, logger="dargah.dispatcher"):
        await passes(client, clock, n=40)  # twenty minutes without credit
    rows = [await row(client, s.id) for s in sent.values()]
    assert {(r["status"], r["attempts"], r["final_at"]) for r in rows} == {("queued", 0, None)}
    assert len([r for r in caplog.records if "ALERT" in r.getMessage()]) == 1
    states = await client.app[STORAGE].provider_states()
    assert states[provider].state == "paused"
    set_fault(fakes, provider, "account", on=False)  # credit bought
    await passes(client, clock, n=30)
    assert accepted_per_recipient(fakes, provider) == dict.fromkeys(NUMBERS, 1)
    rows = [await row(client, s.id) for s in sent.values()]
    assert {(r["status"], r["attempts"]) for r in rows} == {("sent", 1)}
    assert (await client.app[STORAGE].provider_states())[provider].state == "active"


async def test_smsir_a_known_twin_does_not_hide_a_lost_one(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    """One message went out and was recorded; its twin's request was cut before sms.ir took it.
    The report's one match is the first message's own id, so the twin is sent again."""
    client = await gateway(**fakes.settings("smsir", **TIMEOUT))
    first = await enqueue(client, recipient=NUMBERS[0])
    await dispatcher(client).run_once()
    twin = await enqueue(client, recipient=NUMBERS[0])
    fakes.smsir.drop_next = 1
    await dispatcher(client).run_once()
    assert (await row(client, twin.id))["status"] == "unknown"
    await passes(client, clock, n=6)
    assert (await row(client, first.id))["status"] == "sent"
    assert (await row(client, twin.id))["status"] == "sent"
    assert [a.mobile for a in fakes.smsir.accepted] == [NUMBERS[0], NUMBERS[0]]


async def test_a_report_that_comes_before_its_send_is_recorded_is_applied(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await gateway(**fakes.settings("kavenegar", **TIMEOUT))
    sms = await enqueue(client)
    fakes.kave.delay = LATE_S
    await dispatcher(client).run_once()
    assert (await row(client, sms.id))["status"] == "unknown"
    fakes.kave.delay = 0
    messageid = str(fakes.kave.accepted[0].messageid)
    resp = await client.post("/sms/kavenegar/status", data={"messageid": messageid, "status": "10"})
    assert await resp.json() == {"updated": 0}  # nothing to apply it to yet: kept
    await passes(client, clock, n=2)
    r = await row(client, sms.id)
    assert (r["status"], r["provider_message_id"], r["provider_status"]) == (
        "delivered", messageid, "10",
    )  # fmt: skip


async def test_a_stop_gives_back_what_it_holds(
    gateway: GatewayFactory,
    fakes: Fakes,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    aiohttp_server: Callable[..., Any],
) -> None:
    """A routine restart: the sends in flight past the drain bound are checked at once, and
    nothing waits out a lease."""
    client = await gateway(
        **fakes.settings("kavenegar", provider_timeout_s=5, dispatch_drain_s=0.05)
    )
    sms = await enqueue(client)
    fakes.kave.delay = 0.5  # still in flight when the stop comes
    d = dispatcher(client)
    d.start()
    for _ in range(200):
        if fakes.kave.accepted:
            break
        await asyncio.sleep(0.005)
    with caplog.at_level(logging.INFO, logger="dargah.dispatcher"):
        await d.stop()
    r = await row(client, sms.id)
    assert (r["status"], r["due_at"]) == ("unknown", clock.now)  # checked at once on restart
    assert "1 to be checked at once" in caplog.text
    fakes.kave.delay = 0
    await restarted(client, clock).run_once()
    assert (await row(client, sms.id))["status"] == "sent"
    assert fakes.kave.sms_count_by_localid == {sms.id: 1}


async def test_a_stop_with_time_to_drain_finishes_its_sends(
    gateway: GatewayFactory, fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    client = await gateway(**fakes.settings("kavenegar", provider_timeout_s=5, dispatch_drain_s=5))
    sms = await enqueue(client)
    fakes.kave.delay = 0.1
    d = dispatcher(client)
    d.start()
    for _ in range(200):
        if fakes.kave.accepted:
            break
        await asyncio.sleep(0.005)
    with caplog.at_level(logging.INFO, logger="dargah.dispatcher"):
        await d.stop()
    assert (await row(client, sms.id))["status"] == "sent"
    assert "1 claim(s) in flight, 1 finished in time, 0 given back" in caplog.text
