"""The dispatcher against the fake Kavenegar and sms.ir servers, through the real app and SQLite."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from gateway.appkeys import CLOCK, SETTINGS, STORAGE
from providers.dispatcher import Dispatcher
from tests.conftest import FakeClock, GatewayFactory
from tests.dispatch_kit import (
    ME,
    Client,
    Fakes,
    dispatcher,
    enqueue,
    enqueue_raw,
    row,
)


def sends(fakes: Fakes) -> int:
    return sum(1 for r in fakes.kave.requests if r.scope == "sms")


async def test_sends_with_the_outbox_id_as_localid_and_records_the_answer(
    kave: Client, fakes: Fakes
) -> None:
    sms = await enqueue(kave)
    assert await dispatcher(kave).run_once() == 1
    [accepted] = fakes.kave.accepted
    assert (accepted.localid, accepted.receptor, accepted.message) == (sms.id, ME, sms.body)
    r = await row(kave, sms.id)
    assert r["status"] == "sent"
    assert (r["provider"], r["provider_message_id"]) == ("kavenegar", str(accepted.messageid))
    assert (r["cost"], r["provider_status"], r["attempts"]) == (120, "1", 1)
    assert r["sent_at"] == kave.app[CLOCK]()
    assert r["lease_until"] is None
    assert await dispatcher(kave).run_once() == 0  # nothing is due any more


async def test_retry_then_success_in_process(kave: Client, fakes: Fakes) -> None:
    fakes.kave.fail(409)  # "server cannot answer now": retryable
    sms = await enqueue(kave)
    await dispatcher(kave).run_once()
    assert (await row(kave, sms.id))["status"] == "sent"
    assert sends(fakes) == 2
    assert fakes.kave.sms_count_by_localid[sms.id] == 1


async def test_retry_later_through_the_outbox_then_success(
    kave: Client, fakes: Fakes, clock: FakeClock
) -> None:
    fakes.kave.fail(409, times=3)  # outlasts the in-process attempts
    sms = await enqueue(kave)
    await dispatcher(kave).run_once()
    r = await row(kave, sms.id)
    assert (r["status"], r["attempts"]) == ("queued", 1)
    assert r["error"].startswith("kavenegar 409")
    assert clock.now <= r["due_at"] <= clock.now + 0.005
    clock.advance(1)
    await dispatcher(kave).run_once()
    r = await row(kave, sms.id)
    assert (r["status"], r["attempts"], r["error"]) == ("sent", 2, None)
    assert fakes.kave.sms_count_by_localid[sms.id] == 1


async def test_refusals_never_fail_a_message_its_validity_does(
    kave: Client, fakes: Fakes, clock: FakeClock
) -> None:
    fakes.kave.fail(409, times=10_000)  # the provider refuses for a week
    sms = await enqueue(kave)
    for _ in range(40):
        await dispatcher(kave).run_once()
        clock.advance(300)
    r = await row(kave, sms.id)
    assert (r["status"], r["final_at"]) == ("queued", None)
    assert r["error"].startswith("kavenegar 409")
    clock.advance(7 * 24 * 3600)
    await dispatcher(kave).run_once()
    r = await row(kave, sms.id)
    assert r["status"] == "failed"
    assert r["error"].startswith("expired: its validity ended")
    assert r["final_at"] == clock.now
    assert fakes.kave.accepted == []
    assert await dispatcher(kave).run_once() == 0


async def test_permanent_failure_keeps_the_reason(kave: Client, fakes: Fakes) -> None:
    fakes.kave.bad_receptors[ME] = 411  # invalid receptor
    sms = await enqueue(kave)
    await dispatcher(kave).run_once()
    r = await row(kave, sms.id)
    assert (r["status"], r["attempts"], r["provider_status"]) == ("failed", 1, "411")
    assert r["error"].startswith("kavenegar 411: sms/send")
    assert sends(fakes) == 1  # permanent: never retried
    assert fakes.kave.accepted == []


async def test_one_bad_receptor_in_a_batch_fails_alone(kave: Client, fakes: Fakes) -> None:
    fakes.kave.bad_receptors["09351112233"] = 411
    good = await enqueue(kave)
    bad = await enqueue(kave, recipient="09351112233")
    await dispatcher(kave).run_once()
    assert (await row(kave, good.id))["status"] == "sent"
    assert (await row(kave, bad.id))["status"] == "failed"
    assert fakes.kave.sms_count_by_localid == {good.id: 1}


async def test_account_error_pauses_the_provider_and_the_fallback_sends(
    gateway: GatewayFactory, fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    client = await gateway(**fakes.settings(sms_fallback="smsir"))
    fakes.kave.fail(418)  # not enough credit: refused, provably
    sms = await enqueue(client)
    with caplog.at_level(logging.ERROR, logger="dargah.dispatcher"):
        await dispatcher(client).run_once()
        r = await row(client, sms.id)
        assert (r["status"], r["attempts"]) == ("queued", 0)  # its attempt is not spent
        await dispatcher(client).run_once()
    assert fakes.kave.accepted == []
    assert [(a.mobile, a.text) for a in fakes.smsir.accepted] == [(ME, sms.body)]
    r = await row(client, sms.id)
    assert (r["status"], r["provider"], r["attempts"]) == ("sent", "smsir", 1)
    assert r["provider_message_id"] == str(fakes.smsir.accepted[0].message_id)
    states = await client.app[STORAGE].provider_states()
    assert (states["kavenegar"].state, states["kavenegar"].manual) == ("paused", False)
    [alert] = [rec for rec in caplog.records if rec.levelno == logging.ERROR]
    text = alert.getMessage()
    assert "ALERT provider kavenegar paused: kavenegar 418" in text
    assert "sending through smsir" in text
    assert ME not in text
    assert fakes.kave.api_key not in text


async def test_account_error_without_fallback_waits_for_the_probe(
    kave: Client, fakes: Fakes, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fakes.kave.fail(403)  # invalid API key
    sms = await enqueue(kave)
    with caplog.at_level(logging.ERROR, logger="dargah.dispatcher"):
        await dispatcher(kave).run_once()
    assert "messages wait" in caplog.text
    clock.advance(10)  # paused: nothing is sent, nothing is spent
    assert await dispatcher(kave).run_once() == 0
    r = await row(kave, sms.id)
    assert (r["status"], r["attempts"]) == ("queued", 0)
    clock.advance(30)  # the probe (account/info) finds the account good again
    await dispatcher(kave).run_once()
    assert [q.method for q in fakes.kave.requests].count("info") == 1
    assert (await row(kave, sms.id))["status"] == "sent"
    assert fakes.kave.sms_count_by_localid[sms.id] == 1


async def test_a_crash_between_answer_and_write_sends_once(
    kave: Client, fakes: Fakes, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = kave.app[STORAGE]
    real = storage.record_outcomes
    crashes = [RuntimeError("the process died here")]

    async def record_once_then_work(*args: Any) -> int:
        if crashes:
            raise crashes.pop()
        written: int = await real(*args)
        return written

    monkeypatch.setattr(storage, "record_outcomes", record_once_then_work)
    sms = await enqueue(kave)
    with pytest.raises(RuntimeError):
        await dispatcher(kave).run_once()
    assert fakes.kave.sms_count_by_localid[sms.id] == 1  # the provider has it …
    r = await row(kave, sms.id)
    assert (r["status"], r["attempts"]) == ("sending", 1)  # … the outbox does not know yet

    # A restarted gateway: nothing is due while the lease holds; then the send is checked with
    # Kavenegar by its local id, found there, and recorded without a second request.
    provider = dispatcher(kave).providers["kavenegar"]
    restarted = Dispatcher(storage, provider, kave.app[SETTINGS].dispatch_config(), clock=clock)
    assert await restarted.run_once() == 0
    clock.advance(30)
    assert await restarted.run_once() == 1
    r = await row(kave, sms.id)
    assert (r["status"], r["attempts"], r["checks"]) == ("sent", 1, 1)
    assert r["provider_message_id"] == str(fakes.kave.accepted[0].messageid)
    assert fakes.kave.sms_count_by_localid == {sms.id: 1}
    assert [q.method for q in fakes.kave.requests] == ["send", "statuslocalmessageid"]
    assert sends(fakes) == 2


async def test_a_timeout_is_checked_by_local_id_never_resent(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await gateway(**fakes.settings(provider_timeout_s=0.05))
    fakes.kave.delay = 0.2  # accepted, but the answer comes too late
    sms = await enqueue(client)
    await dispatcher(client).run_once()
    r = await row(client, sms.id)
    assert r["status"] == "unknown"
    assert "timeout" in r["error"]
    fakes.kave.delay = 0
    clock.advance(5)  # not yet: the provider's records may not have caught up
    assert await dispatcher(client).run_once() == 0
    clock.advance(30)
    await dispatcher(client).run_once()
    r = await row(client, sms.id)
    assert (r["status"], r["provider_message_id"]) == (
        "sent",
        str(fakes.kave.accepted[0].messageid),
    )
    assert [q.method for q in fakes.kave.requests] == ["send", "statuslocalmessageid"]
    assert fakes.kave.sms_count_by_localid == {sms.id: 1}


async def test_codes_go_before_bulk(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await gateway(**fakes.settings(dispatch_batch=1))
    await enqueue_raw(client, "100000000000000002", priority=2, body="bulk")
    clock.advance(1)
    await enqueue_raw(client, "100000000000000001", priority=1, body="notice")
    clock.advance(1)
    otp = await enqueue(client, "activation_code", {"code": "482913"})
    for _ in range(3):
        assert await dispatcher(client).run_once() == 1
    order = [a.localid for a in fakes.kave.accepted]
    assert order == [otp.id, "100000000000000001", "100000000000000002"]


async def test_otp_text_is_sealed_while_it_waits_and_dropped_once_sent(
    kave: Client, fakes: Fakes
) -> None:
    otp = await enqueue(kave, "activation_code", {"code": "482913"})
    notice = await enqueue(kave)
    waiting = await row(kave, otp.id)
    assert waiting["sealed"]
    assert not any("482913" in str(v) for k, v in waiting.items() if k != "sealed")
    assert b"482913" not in bytes(waiting["sealed"])
    await dispatcher(kave).run_once()
    assert "482913" in fakes.kave.accepted[0].message  # the citizen got the code
    r = await row(kave, otp.id)
    assert r["sealed"] is None
    assert "***" in r["body"]
    assert not any("482913" in str(v) for v in r.values())
    assert (await row(kave, notice.id))["body"] == notice.body  # notices stay readable


async def test_failed_otp_is_redacted_too(kave: Client, fakes: Fakes) -> None:
    fakes.kave.bad_receptors[ME] = 411
    otp = await enqueue(kave, "activation_code", {"code": "482913"})
    await dispatcher(kave).run_once()
    failed = await row(kave, otp.id)
    assert failed["status"] == "failed"
    assert failed["sealed"] is None
    assert not any("482913" in str(v) for v in failed.values())


async def test_batches_respect_the_provider_limit(
    kave: Client, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatcher(kave).providers["kavenegar"], "max_batch", 2)
    ids = [(await enqueue(kave)).id for _ in range(5)]
    assert await dispatcher(kave).run_once() == 5
    calls = [r.method for r in fakes.kave.requests]
    assert calls == ["sendarray", "sendarray", "send"]
    assert fakes.kave.sms_count_by_localid == dict.fromkeys(ids, 1)


async def test_the_loop_survives_a_failed_pass_and_stops(
    gateway: GatewayFactory, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await gateway(**fakes.settings(dispatch_interval_s=0.01))
    storage = client.app[STORAGE]
    real = storage.claim_due
    failures = [RuntimeError("database is locked")]

    async def claim(*args: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real(*args)

    monkeypatch.setattr(storage, "claim_due", claim)
    sms = await enqueue(client)
    d = dispatcher(client)
    d.start()
    for _ in range(200):
        if fakes.kave.accepted:
            break
        await asyncio.sleep(0.01)
    await d.stop()
    assert not d.running
    assert failures == []
    assert (await row(client, sms.id))["status"] == "sent"
    d.start()  # restartable
    assert d.running
    await d.stop()


async def test_the_app_runs_the_loop_when_enabled(
    gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await gateway(dispatcher_enabled=True, dispatch_interval_s=0.01)  # console provider
    assert dispatcher(client).running
    otp = await enqueue(client, "activation_code", {"code": "482913"})
    with caplog.at_level(logging.DEBUG):
        for _ in range(200):
            if (await row(client, otp.id))["status"] == "sent":
                break
            await asyncio.sleep(0.01)
    r = await row(client, otp.id)
    assert (r["status"], r["provider"]) == ("sent", "console")
    ours = [
        rec.getMessage() for rec in caplog.records if rec.name.startswith(("dargah", "gateway"))
    ]
    assert ours  # the console provider logged the send …
    assert not any(ME in line or "482913" in line for line in ours)  # … masked
