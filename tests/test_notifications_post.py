"""POST /v1/notifications: batches, per-recipient rejections, validation, idempotency,
scheduling (ISO and Jalali), the resend interval, and final-status callbacks."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.appkeys import DISPATCHER
from gateway.jobs.callbacks import deliver_due as deliver_calls
from gateway.web import outbound
from tests.api_helpers import Client, bearer, call, sms, storage
from tests.conftest import FakeClock, GatewayFactory

ACTIVATION = {"template": "activation_code", "params": {"code": "482913"}}


async def post(client: Client, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    return await call(client, "POST", "/v1/notifications", headers, body)


async def test_a_list_gets_one_id_per_recipient_and_bad_numbers_alone_are_refused(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    recipients = ["09121234567", "+989351112233", "۰۹۱۹۸۷۶۵۴۳۲", "0812345678", "9121234567"]
    status, body = await post(client, {**ACTIVATION, "recipients": recipients}, auth)
    assert status == 202
    assert (body["accepted"], body["rejected"]) == (3, 2)
    by_number = {n["recipient"]: n for n in body["notifications"]}
    assert [n["recipient"] for n in body["notifications"]] == recipients  # the request's order
    assert by_number["0812345678"]["error"]["code"] == "invalid_mobile"
    assert by_number["9121234567"]["error"]["code"] == "duplicate_recipient"
    rows = await sms(client)
    assert sorted(r["recipient"] for r in rows) == ["09121234567", "09198765432", "09351112233"]
    assert all(r["priority"] == 0 and "482913" in r["text"] for r in rows)
    assert all("482913" not in r["body"] and r["sealed"] for r in rows)  # sealed at rest
    status, view = await call(
        client, "GET", f"/v1/notifications/{by_number['09121234567']['id']}", auth
    )
    assert status == 200
    assert view["status"] == "queued"


async def test_template_and_parameter_errors_name_the_field_and_write_nothing(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    cases = [
        ({"recipient": "09121234567", "template": "nope"}, "unknown_template", "template"),
        (
            {"recipient": "09121234567", "template": "activation_code"},
            "missing_parameter",
            "params.code",
        ),
        (
            {**ACTIVATION, "recipient": "09121234567", "params": {"code": "1", "x": "2"}},
            "unknown_parameter",
            "params.x",
        ),
        (
            {**ACTIVATION, "recipient": "09121234567", "send_at": "1404/13/01"},
            "invalid_field",
            "send_at",
        ),
        (
            {**ACTIVATION, "recipient": "09121234567", "recipients": ["09121234567"]},
            "invalid_field",
            None,
        ),
        ({**ACTIVATION, "recipients": ["09121234567"] * 1001}, "invalid_field", "recipients"),
        (
            {**ACTIVATION, "recipient": "09121234567", "priority": "urgent"},
            "invalid_field",
            "priority",
        ),
        (
            {**ACTIVATION, "recipient": "09121234567", "callback_url": "ftp://x"},
            "callback_url_refused",
            "callback_url",
        ),
        ({**ACTIVATION, "recipient": "09121234567", "colour": "red"}, "unknown_field", "colour"),
    ]
    for body, code, field in cases:
        status, answer = await post(client, body, auth)
        assert (status, answer["code"], answer.get("field")) == (400, code, field), body
    assert await sms(client) == []


async def test_idempotency_key_replays_the_first_answer_and_sends_nothing_new(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    body = {"recipients": ["09121234567", "09351112233"], "template": "keyword_help"}
    headers = {**auth, "Idempotency-Key": "order-42"}
    status, first = await post(client, body, headers)
    status2, again = await post(client, body, headers)
    assert (status, status2) == (202, 202)
    assert first["notifications"] == again["notifications"]
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert len(await sms(client)) == 2
    status, clash = await post(client, {**body, "recipients": ["09121234567"]}, headers)
    assert (status, clash["code"]) == (422, "idempotency_key_reused")
    # keys are per API key: another integrator's "order-42" is its own
    other = {**(await bearer(client, "notify", name="staff")), "Idempotency-Key": "order-42"}
    assert (await post(client, body, other))[0] == 202
    assert len(await sms(client)) == 4


async def test_resend_interval_answers_429_with_seconds_left(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    assert (await post(client, {**ACTIVATION, "recipient": "09121234567"}, auth))[0] == 202
    clock.advance(30)
    resp = await client.post(
        "/v1/notifications", json={**ACTIVATION, "recipient": "+989121234567"}, headers=auth
    )
    body = await resp.json()
    assert resp.status == 429
    assert body["code"] == "resend_too_soon"
    assert body["retry_after"] == 90
    assert resp.headers["Retry-After"] == "90"
    assert len(await sms(client)) == 1
    clock.advance(91)
    assert (await post(client, {**ACTIVATION, "recipient": "09121234567"}, auth))[0] == 202


async def test_send_at_in_jalali_tehran_time_and_iso(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    # The fake clock is 2025-11-22 (1404/09/01); 1404/09/02 14:00 Tehran is 10:30 UTC.
    await post(
        client,
        {"recipient": "09121234567", "template": "keyword_help", "send_at": "۱۴۰۴/۰۹/۰۲ ۱۴:۰۰"},
        auth,
    )
    await post(
        client,
        {
            "recipient": "09351112233",
            "template": "keyword_help",
            "send_at": "2025-11-23T10:30:00+00:00",
        },
        auth,
    )
    due = {r["recipient"]: r["due_at"] for r in await sms(client)}
    expected = datetime(2025, 11, 23, 10, 30, tzinfo=UTC).timestamp()
    assert due == {"09121234567": expected, "09351112233": expected}
    dispatcher = client.app[DISPATCHER]
    assert await dispatcher.run_once() == 0  # not due yet
    clock.now = expected + 1
    assert await dispatcher.run_once() == 2


async def test_priority_low_goes_after_codes(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    await post(
        client, {"recipient": "09121234567", "template": "keyword_help", "priority": "low"}, auth
    )
    [row] = await sms(client)
    assert row["priority"] == 2


async def test_notify_scope_is_required(gateway: GatewayFactory) -> None:
    client = await gateway()
    status, body = await post(
        client, {**ACTIVATION, "recipient": "09121234567"}, await bearer(client, "records")
    )
    assert (status, body["code"]) == (403, "forbidden")
    status, body = await post(client, {**ACTIVATION, "recipient": "09121234567"}, {})
    assert (status, body["code"]) == (401, "unauthorized")


async def test_final_status_is_posted_to_the_callback_url_with_retries(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    received: list[dict[str, Any]] = []
    answers = [500, 200]

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=answers.pop(0))

    hook_app = web.Application()
    hook_app.router.add_post("/hook", hook)
    async with TestServer(hook_app) as server:
        client = await gateway(callback_hosts="127.0.0.1")  # the hook is on this machine
        auth = await bearer(client, "notify")
        url = str(server.make_url("/hook"))
        _, body = await post(
            client, {**ACTIVATION, "recipient": "09121234567", "callback_url": url}, auth
        )
        message_id = body["notifications"][0]["id"]
        app = client.app
        await app[DISPATCHER].run_once()
        store = storage(client)
        hooks = outbound.guarded_session(["127.0.0.1"])
        deliver_due = functools.partial(deliver_calls, listed=["127.0.0.1"])
        assert await deliver_due(store, hooks, clock()) == 0  # sent is not final
        clock.advance(3600)
        await app[DISPATCHER].poll_once()  # the console provider reports delivered
        assert await deliver_due(store, hooks, clock()) == 0  # the hook answered 500
        assert await deliver_due(store, hooks, clock()) == 0  # not due again yet
        clock.advance(3600)
        assert await deliver_due(store, hooks, clock()) == 1
        assert await deliver_due(store, hooks, clock() + 10_000) == 0  # done: never again
        await hooks.close()
    assert [r["status"] for r in received] == ["delivered", "delivered"]
    assert received[0]["id"] == message_id
    assert received[0]["recipient"] == "0912***4567"


async def test_a_code_keeps_its_priority_and_is_redacted_once_sent(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    body = {**ACTIVATION, "recipient": "09121239999", "priority": "low"}
    assert (await post(client, body, auth))[0] == 202
    [row] = await sms(client)
    assert row["priority"] == 0
    await client.app[DISPATCHER].run_once()
    [row] = await sms(client)
    assert row["sealed"] is None
    assert not any("482913" in str(v) for v in row.values())


async def test_the_outbox_benchmarks_request_is_one_a_notify_key_may_send(
    gateway: GatewayFactory,
) -> None:
    """`make bench` posts what bench/outbox.py names: a text closed to callers would stop it."""
    from bench import outbox

    client = await gateway()
    auth = await bearer(client, "notify")
    body = {"recipients": ["09121234567"], "template": outbox.TEMPLATE, "params": outbox.PARAMS}
    status, answer = await post(client, body, auth)
    assert status == 202, answer
    assert answer["accepted"] == 1
