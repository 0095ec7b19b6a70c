"""The delivery model attacked from outside: garbled answers, slow checks and probes, leases that
run out, batches refused in part, sends still in flight, twin texts, a provider's clock that
drifts. The real dispatcher against the fake Kavenegar and the fake sms.ir, on the test's clock;
each case counts the SMS each fake took per message (exactly one) and each message's final state.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from gateway.appkeys import STORAGE
from tests.api_helpers import storage
from tests.conftest import FakeClock, GatewayFactory
from tests.dispatch_kit import ME, Client, Fakes, dispatcher, enqueue, row
from tests.test_delivery_guarantees import (
    NUMBERS,
    TIMEOUT,
    accepted_per_recipient,
    notices,
    passes,
    provider_ids,
    restarted,
)
from tests.test_verifications_delivery import start as start_verification

GARBLES = ["html", "empty", "no-envelope", "bad-status", "bad-entries", "502"]


def fake_of(fakes: Fakes, provider: str) -> Any:
    return fakes.kave if provider == "kavenegar" else fakes.smsir


def crash_at(client: Client, monkeypatch: pytest.MonkeyPatch, which: int) -> None:
    """The process dies before the `which`-th (1-based) write of outcomes from now commits."""
    storage = client.app[STORAGE]
    real = storage.record_outcomes
    calls = [0]

    async def record(*args: Any) -> int:
        calls[0] += 1
        if calls[0] == which:
            raise RuntimeError("killed")
        written: int = await real(*args)
        return written

    monkeypatch.setattr(storage, "record_outcomes", record)


async def statuses(client: Client, sent: dict[str, Any]) -> set[str]:
    return {(await row(client, s.id))["status"] for s in sent.values()}


async def until(condition: Any, seconds: float = 5.0) -> None:
    """Waits in real time for `condition()` to hold (the loops run on their own)."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


# --- 1. an answer that is no answer --------------------------------------------------------


@pytest.mark.parametrize("crash", ["none", "after the send", "after the check"])
@pytest.mark.parametrize("garble", GARBLES)
@pytest.mark.parametrize("provider", ["kavenegar", "smsir"])
async def test_a_garbled_answer_after_the_request_left_is_unknown_never_resent(
    gateway: GatewayFactory,
    fakes: Fakes,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    garble: str,
    crash: str,
) -> None:
    client = await gateway(**fakes.settings(provider, **TIMEOUT))
    sent = await notices(client)
    fake = fake_of(fakes, provider)
    fake.garble, fake.garble_next = garble, 1
    d = dispatcher(client)
    if crash == "after the send":
        crash_at(client, monkeypatch, 1)
        with pytest.raises(RuntimeError):
            await d.run_once()
        d = restarted(client, clock)
    else:
        await d.run_once()
        # The provider took them and its answer proves nothing: never refused, never failed.
        assert await statuses(client, sent) == {"unknown"}
    if crash == "after the check":
        crash_at(client, monkeypatch, 1)  # the first check's verdict is lost with the process
        clock.advance(31)
        with pytest.raises(RuntimeError):
            await d.run_once()
        d = restarted(client, clock)
    await passes(client, clock, d)
    assert accepted_per_recipient(fakes, provider) == dict.fromkeys(NUMBERS, 1)
    ids = provider_ids(fakes, provider)
    for number, sms in sent.items():
        r = await row(client, sms.id)
        assert (r["status"], r["provider_message_id"]) == ("sent", ids[number]), r


@pytest.mark.parametrize("garble", GARBLES)
@pytest.mark.parametrize("provider", ["kavenegar", "smsir"])
async def test_a_garbled_check_answer_proves_nothing(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock, provider: str, garble: str
) -> None:
    client = await gateway(**fakes.settings(provider, **TIMEOUT))
    sent = await notices(client)
    fake = fake_of(fakes, provider)
    fake.cut_next = 1  # taken, and its answer never leaves
    await dispatcher(client).run_once()
    fake.garble, fake.garble_next = garble, 1  # the check's answer is garbled
    clock.advance(31)
    await dispatcher(client).run_once()
    assert await statuses(client, sent) == {"unknown"}
    await passes(client, clock)
    assert accepted_per_recipient(fakes, provider) == dict.fromkeys(NUMBERS, 1)
    assert await statuses(client, sent) == {"sent"}


# --- 2. one slow call stalls nothing else ----------------------------------------------------


async def test_a_slow_check_does_not_stall_sending(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await gateway(**fakes.settings("kavenegar", provider_timeout_s=5))
    first = await enqueue(client, recipient=NUMBERS[0])
    fakes.kave.cut_next = 1  # taken; the answer never comes
    await dispatcher(client).run_once()
    assert (await row(client, first.id))["status"] == "unknown"
    clock.advance(31)
    fakes.kave.gate, fakes.kave.gated = asyncio.Event(), {"statuslocalmessageid"}
    second = await enqueue(client, recipient=NUMBERS[1])
    d = dispatcher(client)
    d.start()
    try:
        await until(lambda: len(fakes.kave.accepted) == 2, 3.0)  # while the check hangs
    finally:
        fakes.kave.gate.set()
        await d.stop()
    assert (await row(client, second.id))["status"] == "sent"
    assert fakes.kave.sms_count_by_localid == {first.id: 1, second.id: 1}


async def test_a_slow_probe_does_not_stall_sending(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await gateway(
        **fakes.settings("kavenegar", sms_fallback="smsir", provider_timeout_s=5)
    )
    fakes.kave.no_credit = True
    first = await enqueue(client, recipient=NUMBERS[0])
    await dispatcher(client).run_once()  # paused by the account error
    clock.advance(31)  # its probe is due, and hangs
    fakes.kave.gate, fakes.kave.gated = asyncio.Event(), {"info"}
    second = await enqueue(client, recipient=NUMBERS[1])
    d = dispatcher(client)
    d.start()
    try:
        await until(lambda: len(fakes.smsir.accepted) == 2, 3.0)
    finally:
        fakes.kave.gate.set()
        await d.stop()
    for sms in (first, second):
        assert (await row(client, sms.id))["status"] == "sent"
    assert not fakes.kave.accepted


# --- 3. a check's lease ----------------------------------------------------------------------


async def _unknown_kavenegar(client: Client, fakes: Fakes, clock: FakeClock) -> str:
    sms = await enqueue(client)
    fakes.kave.cut_next = 1  # taken, and the answer never leaves
    await dispatcher(client).run_once()
    assert (await row(client, sms.id))["status"] == "unknown"
    return sms.id


async def test_a_message_under_a_check_does_not_expire_under_its_holder(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    """Its validity ends while a dispatcher holds its check: another dispatcher does not fail
    it meanwhile, and the holder records what the provider said (it was sent)."""
    client = await gateway(
        **fakes.settings("kavenegar", message_validity_s=60, provider_timeout_s=5)
    )
    sms_id = await _unknown_kavenegar(client, fakes, clock)
    clock.advance(31)
    fakes.kave.gate, fakes.kave.gated = asyncio.Event(), {"statuslocalmessageid"}
    holder = asyncio.create_task(dispatcher(client).run_once())
    await until(lambda: any(r.method == "statuslocalmessageid" for r in fakes.kave.requests))
    clock.advance(29.5)  # past its validity, inside the check's lease
    await restarted(client, clock).run_once()
    fakes.kave.gate.set()
    await holder
    r = await row(client, sms_id)
    assert (r["status"], r["provider_message_id"]) == (
        "sent", str(fakes.kave.accepted[0].messageid),
    )  # fmt: skip


async def test_a_check_that_outlived_its_lease_records_nothing(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await gateway(**fakes.settings("kavenegar", provider_timeout_s=5))
    sms_id = await _unknown_kavenegar(client, fakes, clock)
    clock.advance(31)
    fakes.kave.gate, fakes.kave.gated = asyncio.Event(), {"statuslocalmessageid"}
    late = asyncio.create_task(dispatcher(client).run_once())
    await until(lambda: any(r.method == "statuslocalmessageid" for r in fakes.kave.requests))
    clock.advance(31)  # its lease ran out: another dispatcher takes the check over
    fakes.kave.gated = set()
    other = restarted(client, clock)
    await other.run_once()
    r = await row(client, sms_id)
    assert r["status"] == "sent"
    fakes.kave.set_status(fakes.kave.accepted[0].messageid, 10)
    fakes.kave.gate.set()
    await late
    after = await row(client, sms_id)
    assert (after["status"], after["updated_at"]) == ("sent", r["updated_at"])


async def test_a_check_is_bounded_by_its_lease(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    """The provider hangs on a check far past the lease: the holder gives it up in time (the
    message waits for its next check) instead of holding what it no longer owns."""
    client = await gateway(
        **fakes.settings("kavenegar", provider_timeout_s=5, dispatch_lease_s=0.3)
    )
    sms_id = await _unknown_kavenegar(client, fakes, clock)
    clock.advance(31)
    fakes.kave.gate, fakes.kave.gated = asyncio.Event(), {"statuslocalmessageid"}
    try:
        await asyncio.wait_for(dispatcher(client).run_once(), 2.0)
    finally:
        fakes.kave.gate.set()
    r = await row(client, sms_id)
    assert r["status"] == "unknown"
    assert r["due_at"] > clock.now
    assert "lease" in r["error"]


# --- 5. a batch refused in part --------------------------------------------------------------


@pytest.mark.parametrize("provider", ["kavenegar", "smsir"])
async def test_a_batch_refused_in_part_keeps_what_was_taken(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock, provider: str
) -> None:
    """The whole call is refused for one bad message, so each goes alone: the first is taken,
    the bad one refused for good, then the credit runs out for the rest. What was taken stays
    sent; only the others wait for the provider to accept again."""
    client = await gateway(**fakes.settings(provider, **TIMEOUT))
    good = await enqueue(client, recipient=NUMBERS[0], params={"ticket": "1111"})
    bad = await enqueue(client, recipient=NUMBERS[1], params={"ticket": "2222"})
    rest = await enqueue(client, recipient=NUMBERS[2], params={"ticket": "3333"})
    if provider == "kavenegar":
        fakes.kave.bad_receptors[NUMBERS[1]] = 411
    else:
        fakes.smsir.refused_texts.add(bad.body)
    fake = fake_of(fakes, provider)
    fake.credit_sms = 1
    await dispatcher(client).run_once()
    assert (await row(client, good.id))["status"] == "sent"
    assert (await row(client, rest.id))["status"] == "queued"
    assert (await row(client, rest.id))["attempts"] == 0  # an account error costs no attempt
    fake.credit_sms = None
    await passes(client, clock)
    assert accepted_per_recipient(fakes, provider) == {NUMBERS[0]: 1, NUMBERS[2]: 1}
    assert (await row(client, good.id))["status"] == "sent"
    assert (await row(client, rest.id))["status"] == "sent"
    assert (await row(client, bad.id))["status"] == "failed"


# --- 6. a send still in flight is not checked ------------------------------------------------


async def test_a_check_never_takes_a_send_still_in_flight_in_this_process(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    """Its lease ran out while its request is still on the way (the provider has not taken it
    yet): a check now would find nothing at sms.ir and send it again."""
    client = await gateway(**fakes.settings("smsir", provider_timeout_s=5))
    sms = await enqueue(client)
    fakes.smsir.gate, fakes.smsir.gated = asyncio.Event(), {"/v1/send/bulk"}
    d = dispatcher(client)
    first = asyncio.create_task(d.run_once())
    await until(lambda: bool(fakes.smsir.requests))
    clock.advance(31)  # past the lease (30 s) and past the reports' settling time
    second = asyncio.create_task(d.run_once())
    await asyncio.sleep(0.2)
    fakes.smsir.gate.set()
    await asyncio.gather(first, second)
    await passes(client, clock, n=4)
    assert len(fakes.smsir.accepted) == 1
    assert (await row(client, sms.id))["status"] == "sent"


# --- 7. sms.ir twins ---------------------------------------------------------------------------


async def test_smsir_twins_go_one_at_a_time_so_each_is_reconciled(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await gateway(**fakes.settings("smsir", **TIMEOUT))
    twins = [await enqueue(client, recipient=NUMBERS[0]) for _ in range(2)]  # the same text
    fakes.smsir.cut_next = 1  # taken, and its answer never leaves
    await dispatcher(client).run_once()
    assert len(fakes.smsir.accepted) == 1  # the second waits for the first's outcome
    await passes(client, clock)
    assert len(fakes.smsir.accepted) == 2
    rows = [await row(client, t.id) for t in twins]
    assert {r["status"] for r in rows} == {"sent"}
    assert {r["provider_message_id"] for r in rows} == {
        str(a.message_id) for a in fakes.smsir.accepted
    }
    assert {r["attempts"] for r in rows} == {1}  # waiting costs no attempt


async def test_smsir_twins_wait_across_dispatchers(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await gateway(**fakes.settings("smsir", provider_timeout_s=5))
    one = await enqueue(client, recipient=NUMBERS[0])
    fakes.smsir.delay = 0.3
    a = asyncio.create_task(dispatcher(client).run_once())
    await until(lambda: bool(fakes.smsir.accepted))
    two = await enqueue(client, recipient=NUMBERS[0])
    other = restarted(client, clock)
    await other.run_once()
    assert len(fakes.smsir.accepted) == 1  # its twin is in flight elsewhere: it waits
    await a
    fakes.smsir.delay = 0.0
    await passes(client, clock, other, n=3)
    assert len(fakes.smsir.accepted) == 2
    assert {(await row(client, s.id))["status"] for s in (one, two)} == {"sent"}


async def test_smsir_a_match_that_cannot_tell_twins_apart_stays_unknown(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    """The same text went to the same number through the account outside this gateway: two
    report entries match and neither is known, so the message stays unknown until its validity
    ends, and is never sent again."""
    client = await gateway(**fakes.settings("smsir", message_validity_s=3600, **TIMEOUT))
    sms = await enqueue(client, recipient=NUMBERS[0])
    fakes.smsir.cut_next = 1  # taken, and its answer never leaves
    await dispatcher(client).run_once()
    fakes.smsir._accept(NUMBERS[0], sms.body, 30004505)  # the same text, sent by someone else
    await passes(client, clock, n=20)
    assert len(fakes.smsir.accepted) == 2
    assert (await row(client, sms.id))["status"] == "unknown"
    clock.advance(3600)
    await dispatcher(client).run_once()
    r = await row(client, sms.id)
    assert (r["status"], r["error"].split(":")[0]) == ("failed", "unknown_outcome")
    assert len(fakes.smsir.accepted) == 2


# --- 8. the provider's clock ---------------------------------------------------------------


async def test_smsir_clock_skew_holds_matching_and_alerts(
    gateway: GatewayFactory,
    fakes: Fakes,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await gateway(**fakes.settings("smsir", **TIMEOUT))
    sent = await notices(client, NUMBERS[:2])
    fakes.smsir.cut_next = 1  # taken, and its answer never leaves
    await dispatcher(client).run_once()
    fakes.smsir.skew_s = 151.0
    with caplog.at_level(logging.ERROR, logger="dargah.dispatcher"):
        await passes(client, clock, n=6)
    assert await statuses(client, sent) == {"unknown"}
    alerts = [r.getMessage() for r in caplog.records if "ALERT" in r.getMessage()]
    assert len(alerts) == 1, alerts
    assert "clock" in alerts[0]
    metrics = await (await client.get("/metrics")).text()
    assert 'dargah_provider_clock_skew_seconds{provider="smsir"} 151.0' in metrics
    assert 'dargah_provider_clock_skew_alert{provider="smsir"} 1.0' in metrics
    fakes.smsir.skew_s = -149.0  # within the bound again (either side)
    await passes(client, clock, n=6)
    assert await statuses(client, sent) == {"sent"}
    assert len(fakes.smsir.accepted) == 2
    metrics = await (await client.get("/metrics")).text()
    assert 'dargah_provider_clock_skew_alert{provider="smsir"} 0.0' in metrics
    assert "dargah_provider_clock_skew_seconds{" not in metrics


# --- found by attacking it: a send that outlives its lease -----------------------------------


@pytest.mark.parametrize("provider", ["kavenegar", "smsir"])
async def test_a_send_is_bounded_by_its_lease_then_reconciled(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock, provider: str
) -> None:
    """The provider holds the request past the claim's lease (retries and a slow answer can add
    up to more than the lease). Past it, another dispatcher would check the message and, finding
    nothing yet at sms.ir, send it again; so the holder gives the send up in time as unknown."""
    client = await gateway(**fakes.settings(provider, provider_timeout_s=5, dispatch_lease_s=0.5))
    sms = await enqueue(client)
    fake = fake_of(fakes, provider)
    fake.gate, fake.gated = asyncio.Event(), {"sendarray", "send", "/v1/send/bulk"}
    try:
        await asyncio.wait_for(dispatcher(client).run_once(), 2.0)
        r = await row(client, sms.id)
        assert (r["status"], r["attempts"]) == ("unknown", 1)
    finally:
        fake.gate.set()
    fake.gated = set()
    await passes(client, clock, n=4)
    assert accepted_per_recipient(fakes, provider) == {sms.recipient: 1}
    assert (await row(client, sms.id))["status"] == "sent"


@pytest.mark.parametrize("provider", ["kavenegar", "smsir"])
async def test_a_crash_between_a_checks_outcome_and_its_report_loses_nothing(
    gateway: GatewayFactory,
    fakes: Fakes,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
) -> None:
    """A check finds each lost send delivered: it records `sent` (one write), and the process
    dies before the delivery report is applied (the next). Nothing is sent again, and the report
    comes back by the status poll."""
    client = await gateway(**fakes.settings(provider, **TIMEOUT))
    sent = await notices(client)
    fake = fake_of(fakes, provider)
    fake.cut_next = 1  # taken, and its answer never leaves
    await dispatcher(client).run_once()
    for taken in fake.accepted:
        if provider == "kavenegar":
            taken.status = 10
        else:
            taken.delivery_state = 1
    storage = client.app[STORAGE]
    monkeypatch.setattr(storage, "apply_reports", _dies)
    clock.advance(31)
    with pytest.raises(RuntimeError):
        await dispatcher(client).run_once()
    monkeypatch.undo()
    assert await statuses(client, sent) == {"sent"}
    d = restarted(client, clock)
    await passes(client, clock, d, n=2)
    clock.advance(601)
    await d.poll_once()
    assert await statuses(client, sent) == {"delivered"}
    assert accepted_per_recipient(fakes, provider) == dict.fromkeys(NUMBERS, 1)


async def _dies(*_args: Any) -> int:
    raise RuntimeError("killed")


async def test_smsir_a_report_text_not_quite_as_sent_never_proves_absence(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    """sms.ir's report lists the text with an opt-out line appended: the exact text is not
    found, but an entry to that number the gateway cannot account for is; so the message is not
    proved absent, and is never sent a second time."""
    client = await gateway(**fakes.settings("smsir", message_validity_s=3600, **TIMEOUT))
    sms = await enqueue(client, recipient=NUMBERS[0])
    fakes.smsir.report_suffix = "\nلغو۱۱"
    fakes.smsir.cut_next = 1  # taken, and its answer never leaves
    await dispatcher(client).run_once()
    await passes(client, clock, n=10)
    assert len(fakes.smsir.accepted) == 1
    assert (await row(client, sms.id))["status"] == "unknown"


async def test_a_slow_status_poll_stalls_neither_sends_nor_probes(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await gateway(**fakes.settings("kavenegar", provider_timeout_s=5))
    first = await enqueue(client, recipient=NUMBERS[0])
    await dispatcher(client).run_once()
    assert (await row(client, first.id))["status"] == "sent"
    clock.advance(601)  # its status is due for a poll, which hangs
    fakes.kave.gate, fakes.kave.gated = asyncio.Event(), {"status"}
    d = dispatcher(client)
    d.start()
    try:
        await until(lambda: any(r.method == "status" for r in fakes.kave.requests), 3.0)
        second = await enqueue(client, recipient=NUMBERS[1])  # while the poll hangs
        await until(lambda: len(fakes.kave.accepted) == 2, 3.0)
    finally:
        fakes.kave.gate.set()
        await d.stop()
    assert (await row(client, second.id))["status"] == "sent"


async def test_smsir_a_new_code_never_waits_for_a_lost_one(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    """Codes are never looked for by their text (their answer lost, they wait out their
    expiry), so a second code to the same number is no twin of the first: it goes at once."""
    client = await gateway(**fakes.settings("smsir", **TIMEOUT))
    await start_verification(client, purpose="activation")
    fakes.smsir.cut_next = 1  # taken, and its answer never leaves
    await dispatcher(client).run_once()
    clock.advance(121)  # past the resend interval
    await start_verification(client, purpose="activation")
    await dispatcher(client).run_once()
    assert len(fakes.smsir.accepted) == 2
    codes = list(await storage(client).outbox_messages(ME))
    assert sorted(m["status"] for m in codes) == ["sent", "unknown"]
