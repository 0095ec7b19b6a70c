"""What an operator's monitoring reads: `/metrics` through `prometheus_client`'s own parser (the
exposition format, the naming convention, histograms, the dispatcher's and providers' counters,
one worker and two), and `/readyz` with the SMS side's state that never fails it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from gateway.appkeys import DISPATCHER
from gateway.version import VERSION
from gateway.web.counters import METRICS, Metrics
from gateway.web.counters_share import all_workers, write_counters
from gateway.web.logs import MaskingFormatter
from tests.api_helpers import bearer, call
from tests.conftest import FakeClock, GatewayFactory
from tests.dispatch_kit import Client, Fakes, enqueue
from tests.live_gateway import LiveGateway, free_port, gateway_env
from tests.phone import Phone

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def scrape(client: Client) -> dict[str, list[Sample]]:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == CONTENT_TYPE
    families = text_string_to_metric_families(await resp.text())  # raises on a malformed line
    return {f.name: f.samples for f in families if f.samples or f.name.startswith("dargah_")}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, samples)
    return found[0]


def assert_conventions(families: dict[str, list[Sample]], text: str) -> None:
    """`dargah_<area>_<name>_<unit>`: counters end `_total`, durations are `_seconds` histograms."""
    for line in text.splitlines():
        if line.startswith("# TYPE dargah_"):
            _, _, name, kind = line.split()
            if kind == "counter":
                assert f"{name}_total" in text or "{" not in name, name
            if "duration" in name:
                assert (kind, name.endswith("_seconds")) == ("histogram", True), name
            if kind == "histogram":
                assert name.endswith("_seconds"), name
            assert len(name.split("_")) >= 3, name


async def test_one_worker_exposes_histograms_counters_build_and_process(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    phone = Phone(client)
    await phone.dial()
    auth = await bearer(client, "notify")
    await call(client, "GET", "/v1/notifications/123456789012345678", auth)
    resp = await client.get("/metrics")
    text = await resp.text()
    families = await scrape(client)
    assert_conventions(families, text)

    hops = families["dargah_ussd_hop_duration_seconds"]
    assert value(hops, "dargah_ussd_hop_duration_seconds_count", dialect="africastalking") == 1
    assert value(hops, "dargah_ussd_hop_duration_seconds_bucket", dialect="africastalking",
                 le="+Inf") == 1  # fmt: skip
    api = families["dargah_api_request_duration_seconds"]
    assert value(api, "dargah_api_request_duration_seconds_count",
                 route="/v1/notifications/{id}") == 1  # fmt: skip
    build = families["dargah_build_info"]
    assert build[0].labels["version"] == VERSION
    assert build[0].value == 1
    assert "process_resident_memory_bytes" in families
    assert "process_cpu_seconds_total" in text
    assert "python_info" in families
    assert value(families["dargah_dispatcher_stuck"], "dargah_dispatcher_stuck") == 0
    states = families["dargah_provider_state"]
    assert value(states, "dargah_provider_state", provider="console", state="active") == 1


async def test_two_workers_sum_counters_and_histograms(
    gateway: GatewayFactory, tmp_path: Path
) -> None:
    client = await gateway()
    other = Metrics()
    other.hop("africastalking", "continue", 0.003)
    other.count("sent", "kavenegar", 4)
    other.send_time("kavenegar", 0.2)
    write_counters(other, tmp_path / "worker-1.json")
    own = client.app[METRICS]
    own.combine = lambda: all_workers(own, tmp_path, tmp_path / "worker-0.json")
    await Phone(client).dial()
    families = await scrape(client)
    hops = families["dargah_ussd_hop_duration_seconds"]
    assert value(hops, "dargah_ussd_hop_duration_seconds_count", dialect="africastalking") == 2
    sent = families["dargah_sms_sent"]
    assert value(sent, "dargah_sms_sent_total", provider="kavenegar") == 4
    sends = families["dargah_provider_send_duration_seconds"]
    assert value(sends, "dargah_provider_send_duration_seconds_bucket", provider="kavenegar",
                 le="0.25") == 1  # fmt: skip
    assert value(sends, "dargah_provider_send_duration_seconds_sum", provider="kavenegar") == 0.2


async def test_the_dispatcher_counts_sends_failures_and_a_pause(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    client = await gateway(**fakes.settings("kavenegar"))
    await enqueue(client)
    await client.app[DISPATCHER].run_once()
    await enqueue(client, recipient="09351112233")
    fakes.kave.no_credit = True  # an account fault: the provider is paused
    await client.app[DISPATCHER].run_once()
    families = await scrape(client)
    assert value(families["dargah_sms_sent"], "dargah_sms_sent_total", provider="kavenegar") == 1
    paused = families["dargah_provider_paused"]
    assert value(paused, "dargah_provider_paused_total", provider="kavenegar") == 1
    sends = families["dargah_provider_send_duration_seconds"]
    assert value(sends, "dargah_provider_send_duration_seconds_count", provider="kavenegar") == 2
    states = families["dargah_provider_state"]
    assert value(states, "dargah_provider_state", provider="kavenegar", state="paused") == 1
    # A paused provider holds its messages on purpose: not stuck, and the node stays ready.
    resp = await client.get("/readyz")
    body: dict[str, Any] = await resp.json()
    assert resp.status == 200
    assert body["sms"]["providers"]["kavenegar"]["state"] == "paused"
    assert body["sms"]["providers"]["kavenegar"]["reason"]
    assert body["sms"]["dispatcher"]["state"] != "stuck"


async def test_a_message_due_too_long_with_a_provider_up_is_a_stuck_dispatcher(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway(dispatcher_stuck_after_s=60)  # the tests' dispatcher never runs
    await enqueue(client)
    clock.advance(59)
    resp = await client.get("/readyz")
    assert (await resp.json())["sms"]["dispatcher"]["state"] != "stuck"
    clock.advance(2)
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 200  # still answers hops and API calls: never out of the balancer
    assert body["status"] == "ready"
    assert body["sms"]["dispatcher"]["state"] == "stuck"
    assert body["sms"]["dispatcher"]["oldest_due_age_s"] >= 61
    families = await scrape(client)
    assert value(families["dargah_dispatcher_stuck"], "dargah_dispatcher_stuck") == 1
    await client.app[DISPATCHER].run_once()  # a pass claims it: no longer stuck
    families = await scrape(client)
    assert value(families["dargah_dispatcher_stuck"], "dargah_dispatcher_stuck") == 0


async def test_a_request_id_is_taken_returned_and_on_every_line_of_its_request(
    gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = await gateway(ussd_secrets={"africastalking": "s" * 32})
    formatter = MaskingFormatter(as_json=True)
    caplog.set_level("INFO")
    headers = {"X-Request-ID": "portal-7f3a.1"}
    async with client.post("/ussd/africastalking", data={}, headers=headers) as resp:
        assert resp.status == 401
        assert resp.headers["X-Request-ID"] == "portal-7f3a.1"
    refused = [json.loads(formatter.format(r)) for r in caplog.records if "refused" in r.message]
    assert refused
    assert refused[0]["request_id"] == "portal-7f3a.1"
    # An id that is no sane token is replaced by one of the gateway's own: letters only, which
    # masking never mistakes for a number.
    for sent in ("", "a b", "x" * 129, "09121234567!"):
        async with client.get("/healthz", headers={"X-Request-ID": sent}) as resp:
            made = resp.headers["X-Request-ID"]
            assert made != sent
            assert made.isalpha()
            assert len(made) == 24
    async with client.get("/healthz") as first, client.get("/healthz") as second:
        assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_a_served_gateway_logs_json_lines_with_sub_millisecond_times(tmp_path: Path) -> None:
    """`run.py serve` as deployed (uvloop, whose clock counts whole milliseconds): every access
    line parses, with its fields, and the times are not rounded to the millisecond."""
    env = gateway_env(tmp_path / "gateway.db", free_port(), log_json="true", log_level="INFO")
    live = LiveGateway(env, tmp_path / "gateway.log")
    await live.start()
    try:
        async with aiohttp.ClientSession() as http:
            for n in range(20):
                form = {"sessionId": f"s{n}", "serviceCode": "*4455#",
                        "phoneNumber": "09121234567", "text": ""}  # fmt: skip
                async with http.post(f"{live.base}/ussd/africastalking", data=form) as resp:
                    assert resp.status == 200
            async with http.get(f"{live.base}/healthz", headers={"X-Request-ID": "lb-1"}) as r:
                assert r.headers["X-Request-ID"] == "lb-1"
    finally:
        await live.stop()
    lines = [json.loads(line) for line in live.log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "aiohttp.access"]
    assert len(access) >= 21
    for line in access:
        assert datetime.fromisoformat(line["ts"]).tzinfo == UTC
        assert {"method", "route", "status", "duration_ms", "request_id"} <= set(line)
    hops = [line for line in access if line["route"] == "/ussd/africastalking"]
    assert sum(1 for line in hops if line["duration_ms"] % 1) > len(hops) / 2
    assert "09121234567" not in live.log.read_text()
    assert [line["request_id"] for line in access if line["route"] == "/healthz"][-1] == "lb-1"


async def test_a_refusal_for_now_counts_as_retried(gateway: GatewayFactory, fakes: Fakes) -> None:
    client = await gateway(**fakes.settings("kavenegar"))
    fakes.kave.fail(409, times=100)  # "cannot answer now"
    await enqueue(client)
    await client.app[DISPATCHER].run_once()
    families = await scrape(client)
    retried = families["dargah_sms_retried"]
    assert value(retried, "dargah_sms_retried_total", provider="kavenegar") == 1
    assert families["dargah_sms_failed_over"] == []
    assert families["dargah_sms_sent"] == []


async def test_with_a_fallback_a_refusal_counts_as_failed_over(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    client = await gateway(**fakes.settings("kavenegar", sms_fallback="smsir"))
    fakes.kave.fail(409, times=100)
    await enqueue(client)
    await client.app[DISPATCHER].run_once()  # refused by Kavenegar, marked failing
    await client.app[DISPATCHER].run_once()  # sent through sms.ir
    families = await scrape(client)
    over = families["dargah_sms_failed_over"]
    assert value(over, "dargah_sms_failed_over_total", provider="kavenegar") == 1
    assert value(families["dargah_sms_sent"], "dargah_sms_sent_total", provider="smsir") == 1
    assert families["dargah_sms_retried"] == []
