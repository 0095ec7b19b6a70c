"""Provider faults in real time: the fake Kavenegar goes down, answers too slowly, answers 5xx,
409 or 418 for a while. Messages wait, retry or fail over; none is lost or sent twice; and the
backlog drains soon after the provider recovers (the time is printed).

The gateway runs in process with its dispatcher loop on and the wall clock; the fakes listen on real
loopback ports. Retry delays and timeouts are shortened so each fault lasts about a second.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from gateway.appkeys import DEPS, STORAGE
from sessions.services.deps import make_sms
from tests.conftest import GatewayFactory
from tests.dispatch_kit import Client, Fakes, start_fakes
from tests.fakes.kavenegar import FakeKavenegar
from tests.fakes.smsir import FakeSmsIr

ServerFactory = Callable[..., Awaitable[TestServer]]

BACKLOG = 400
OUTAGE_S = 1.0
LIVE: dict[str, Any] = {
    "dispatcher_enabled": True,
    "dispatch_interval_s": 0.02,
    "dispatch_lease_s": 10.0,
    "retry_base_s": 0.02,
    "retry_cap_s": 0.25,
    "provider_timeout_s": 0.2,
    "unknown_check_s": 0.1,
    "provider_probe_s": 0.2,
    "status_poll_after_s": 3600.0,
}


@pytest.fixture
def clock() -> Callable[[], float]:
    """The wall clock: backoff, leases and the drain are measured in real seconds."""
    return time.time


@pytest.fixture
async def fakes(aiohttp_server: ServerFactory) -> Fakes:
    return await start_fakes(aiohttp_server)


def numbers(n: int, prefix: str = "0912") -> list[str]:
    return [f"{prefix}{i:07d}" for i in range(2_000_000, 2_000_000 + n)]


async def enqueue_backlog(client: Client, recipients: list[str]) -> dict[str, str]:
    """One notice per number, due now; {outbox id: recipient}."""
    deps = client.app[DEPS]
    msgs = [
        make_sms(deps, r, "complaint_received", {"ticket": str(100_000 + i)})
        for i, r in enumerate(recipients)
    ]
    await client.app[STORAGE].enqueue(msgs)
    return {m.id: m.recipient for m in msgs}


async def statuses(client: Client) -> Counter[str]:
    return Counter(r["status"] for r in await client.app[STORAGE].outbox_messages())


async def drain(client: Client, limit_s: float = 20.0) -> float:
    """Seconds until nothing is queued, being sent or waiting for its outcome to be known."""
    start = time.monotonic()
    while True:
        counts = await statuses(client)
        if not counts["queued"] and not counts["sending"] and not counts["unknown"]:
            return time.monotonic() - start
        if time.monotonic() - start > limit_s:
            raise AssertionError(f"backlog not drained: {dict(counts)}")
        await asyncio.sleep(0.02)


async def waiting_through(client: Client, seconds: float) -> None:
    """During the fault: messages wait (queued again with the error, or unknown until the
    provider can be asked), none is given up."""
    await asyncio.sleep(seconds)
    counts = await statuses(client)
    assert counts["failed"] == 0, counts
    assert counts["sent"] == 0, counts
    rows = await client.app[STORAGE].outbox_messages()
    waiting = [r for r in rows if r["status"] in ("queued", "unknown")]
    assert any(r["error"] for r in waiting), "no retry was recorded"


def assert_each_sent_once_by_kavenegar(fakes: Fakes, ids: dict[str, str]) -> None:
    assert fakes.kave.sms_count_by_localid == dict.fromkeys(ids, 1)
    assert fakes.smsir.accepted == []


async def assert_rows_match_the_provider(client: Client, fakes: Fakes, ids: dict[str, str]) -> None:
    by_local = {s.localid: s for s in fakes.kave.accepted}
    rows = await client.app[STORAGE].outbox_messages()
    assert {r["id"]: (r["status"], r["provider"]) for r in rows} == dict.fromkeys(
        ids, ("sent", "kavenegar")
    )
    assert all(r["provider_message_id"] == str(by_local[r["id"]].messageid) for r in rows)


def report(fault: str, ids: dict[str, str], drained: float, requests: int) -> None:
    print(
        f"\nfault {fault}: {len(ids)} SMS backlog, {requests} provider calls, lost 0, "
        f"duplicates 0, drained {drained:.2f} s after recovery"
    )


async def test_provider_down_then_back_on_the_same_port(
    aiohttp_server: ServerFactory, gateway: GatewayFactory
) -> None:
    kave, smsir = FakeKavenegar(), FakeSmsIr()
    first = await aiohttp_server(kave.app())
    port = first.port
    smsir_server = await aiohttp_server(smsir.app())
    fakes = Fakes(kave, smsir, str(first.make_url("")), str(smsir_server.make_url("")))
    client = await gateway(**{**fakes.settings(), **LIVE})
    await first.close()  # the provider is down: connections are refused
    ids = await enqueue_backlog(client, numbers(BACKLOG))
    await waiting_through(client, OUTAGE_S)
    again = await aiohttp_server(kave.app(), port=port)
    assert again.port == port
    drained = await drain(client)
    assert kave.sms_count_by_localid == dict.fromkeys(ids, 1)
    by_local = {s.localid: s for s in kave.accepted}
    rows = await client.app[STORAGE].outbox_messages()
    assert all(r["status"] == "sent" for r in rows)
    assert all(r["provider_message_id"] == str(by_local[r["id"]].messageid) for r in rows)
    report("down (connection refused)", ids, drained, len(kave.requests))


async def test_slower_than_the_timeout_is_checked_and_never_resent(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    client = await gateway(**{**fakes.settings(), **LIVE})
    fakes.kave.delay = 0.5  # accepted at once, answered after the 0.2 s timeout
    ids = await enqueue_backlog(client, numbers(BACKLOG))
    await waiting_through(client, OUTAGE_S)
    assert len(fakes.kave.accepted) == BACKLOG  # the provider has them all, the gateway not yet
    fakes.kave.delay = 0.0
    drained = await drain(client)
    assert_each_sent_once_by_kavenegar(fakes, ids)
    await assert_rows_match_the_provider(client, fakes, ids)
    report("slower than the timeout", ids, drained, len(fakes.kave.requests))


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_without_an_envelope_waits_and_retries(
    gateway: GatewayFactory, fakes: Fakes, status: int
) -> None:
    client = await gateway(**{**fakes.settings(), **LIVE})
    fakes.kave.http_error = status
    ids = await enqueue_backlog(client, numbers(BACKLOG))
    await waiting_through(client, OUTAGE_S)
    fakes.kave.http_error = None
    drained = await drain(client)
    assert_each_sent_once_by_kavenegar(fakes, ids)
    await assert_rows_match_the_provider(client, fakes, ids)
    report(f"HTTP {status}", ids, drained, len(fakes.kave.requests))


async def test_kavenegar_409_is_retried_until_it_clears(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    client = await gateway(**{**fakes.settings(), **LIVE})
    fakes.kave.fail(409, times=10_000)  # "cannot answer now", on every call while it lasts
    ids = await enqueue_backlog(client, numbers(BACKLOG))
    await waiting_through(client, OUTAGE_S)
    fakes.kave.fail_next.clear()
    drained = await drain(client)
    assert_each_sent_once_by_kavenegar(fakes, ids)
    await assert_rows_match_the_provider(client, fakes, ids)
    report("Kavenegar 409", ids, drained, len(fakes.kave.requests))


async def test_kavenegar_418_fails_over_to_smsir_and_each_sms_goes_once(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    client = await gateway(**{**fakes.settings(sms_fallback="smsir"), **LIVE})
    kave = fakes.kave
    sent_before = await enqueue_backlog(client, numbers(50, "0935"))
    await drain(client)  # some went out through Kavenegar while it had credit
    kave.no_credit = True  # then the credit runs out
    ids = await enqueue_backlog(client, numbers(BACKLOG))
    start = time.monotonic()
    await drain(client)
    took = time.monotonic() - start
    assert fakes.kave.sms_count_by_localid == dict.fromkeys(sent_before, 1)
    by_mobile = Counter(a.mobile for a in fakes.smsir.accepted)
    assert by_mobile == dict.fromkeys(ids.values(), 1)  # the rest, once each, through sms.ir
    rows = {r["id"]: r for r in await client.app[STORAGE].outbox_messages()}
    assert all((rows[i]["status"], rows[i]["provider"]) == ("sent", "smsir") for i in ids)
    assert all(rows[i]["provider"] == "kavenegar" for i in sent_before)
    print(
        f"\nfault Kavenegar 418: {len(ids)} SMS failed over to sms.ir in "
        f"{len(fakes.smsir.requests)} calls, lost 0, duplicates 0, drained in {took:.2f} s"
    )


async def test_a_permanent_error_fails_with_its_reason_and_the_rest_go_out(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    client = await gateway(**{**fakes.settings(), **LIVE})
    recipients = numbers(100)
    bad = set(recipients[::25])
    for r in bad:
        fakes.kave.bad_receptors[r] = 411  # invalid receptor
    fakes.kave.http_error = 503
    ids = await enqueue_backlog(client, recipients)
    await asyncio.sleep(0.3)
    fakes.kave.http_error = None
    await drain(client)
    rows = await client.app[STORAGE].outbox_messages()
    failed = {r["recipient"]: r for r in rows if r["status"] == "failed"}
    assert set(failed) == bad
    assert all(r["error"].startswith("kavenegar 411") for r in failed.values())
    good = {i for i, r in ids.items() if r not in bad}
    assert fakes.kave.sms_count_by_localid == dict.fromkeys(good, 1)


async def test_a_timeout_then_an_account_error_does_not_send_twice(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    """Kavenegar took the message but its answer was lost; then its credit ran out. Failing over
    must not send sms.ir a message Kavenegar already has."""
    client = await gateway(**{**fakes.settings(sms_fallback="smsir"), **LIVE})
    kave = fakes.kave
    fakes.kave.delay = 0.5
    ids = await enqueue_backlog(client, numbers(BACKLOG))
    for _ in range(500):
        if len(fakes.kave.accepted) == BACKLOG:
            break
        await asyncio.sleep(0.01)
    assert len(fakes.kave.accepted) == BACKLOG  # Kavenegar has each; the gateway knows none
    fakes.kave.delay = 0.0
    kave.no_credit = True
    await drain(client)
    by_mobile = Counter(a.receptor for a in fakes.kave.accepted)
    by_mobile.update(a.mobile for a in fakes.smsir.accepted)
    assert by_mobile == dict.fromkeys(ids.values(), 1)
    by_local = {s.localid: s for s in fakes.kave.accepted}
    rows = await client.app[STORAGE].outbox_messages()
    assert {(r["status"], r["provider"]) for r in rows} == {("sent", "kavenegar")}
    assert all(r["provider_message_id"] == str(by_local[r["id"]].messageid) for r in rows)
