"""Delivery reports: provider callbacks over HTTP, and the poller for messages with no report."""

from __future__ import annotations

import pytest

from tests.conftest import FakeClock, GatewayFactory
from tests.dispatch_kit import (
    Client,
    Fakes,
    dispatcher,
    enqueue,
    row,
)


async def sent_message(client: Client) -> tuple[str, str]:
    """(outbox id, provider message id) of one message just sent."""
    sms = await enqueue(client)
    for _ in range(3):  # an account error pauses the provider: the next pass goes elsewhere
        await dispatcher(client).run_once()
        if (await row(client, sms.id))["status"] == "sent":
            break
    r = await row(client, sms.id)
    assert r["status"] == "sent"
    return sms.id, r["provider_message_id"]


async def test_callback_marks_delivered_once(kave: Client, clock: FakeClock) -> None:
    sms_id, mid = await sent_message(kave)
    clock.advance(5)
    resp = await kave.post("/sms/kavenegar/status", data={"messageid": mid, "status": "10"})
    assert resp.status == 200
    assert await resp.json() == {"updated": 1}
    r = await row(kave, sms_id)
    assert (r["status"], r["provider_status"], r["final_at"]) == ("delivered", "10", clock.now)

    clock.advance(5)  # the provider repeats itself: nothing changes twice
    resp = await kave.post("/sms/kavenegar/status", data={"messageid": mid, "status": "10"})
    assert await resp.json() == {"updated": 0}
    assert (await row(kave, sms_id))["final_at"] == clock.now - 5


async def test_a_late_sent_report_never_downgrades(kave: Client) -> None:
    sms_id, mid = await sent_message(kave)
    await kave.get("/sms/kavenegar/status", params={"messageid": mid, "status": "11"})
    resp = await kave.get("/sms/kavenegar/status", params={"messageid": mid, "status": "4"})
    assert await resp.json() == {"updated": 0}
    assert (await row(kave, sms_id))["status"] == "undelivered"


async def test_a_sent_report_moves_on_the_provider_status(kave: Client) -> None:
    sms_id, mid = await sent_message(kave)
    resp = await kave.get("/sms/kavenegar/status", params={"messageid": mid, "status": "4"})
    assert await resp.json() == {"updated": 1}
    r = await row(kave, sms_id)
    assert (r["status"], r["provider_status"], r["final_at"]) == ("sent", "4", None)


async def test_report_for_an_unknown_message_changes_nothing(kave: Client) -> None:
    resp = await kave.post("/sms/kavenegar/status", data={"messageid": "999", "status": "10"})
    assert resp.status == 200
    assert await resp.json() == {"updated": 0}


@pytest.mark.parametrize(
    ("form", "code", "fields"),
    [
        ({"messageid": "8792343"}, "missing_fields", ["status"]),
        ({}, "missing_fields", ["messageid", "status"]),
        ({"status": "10"}, "missing_fields", ["messageid"]),
        ({"messageid": "abc", "status": "10"}, "invalid_fields", ["messageid"]),
    ],
)
async def test_malformed_callback_is_400_naming_the_fields(
    kave: Client, form: dict[str, str], code: str, fields: list[str]
) -> None:
    """The same shape as a USSD callback's 400 (README: `missing_fields`)."""
    resp = await kave.post("/sms/kavenegar/status", data=form)
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == code
    assert body["fields"] == fields
    assert ", ".join(fields) in body["message"]


async def test_unknown_provider_is_404(kave: Client) -> None:
    resp = await kave.post("/sms/smsir/status", data={"messageId": "1", "deliveryState": "1"})
    assert resp.status == 404
    assert (await resp.json())["code"] == "unknown_provider"


async def test_smsir_callback_as_json(gateway: GatewayFactory, fakes: Fakes) -> None:
    client = await gateway(**fakes.settings("smsir"))
    sms_id, mid = await sent_message(client)
    body = {"messageId": int(mid), "deliveryState": 1}
    resp = await client.post("/sms/smsir/status", json=body)
    assert await resp.json() == {"updated": 1}
    assert (await row(client, sms_id))["status"] == "delivered"


async def test_poll_after_the_configured_time(kave: Client, fakes: Fakes, clock: FakeClock) -> None:
    sms_id, mid = await sent_message(kave)
    fakes.kave.set_status(int(mid), 11)
    poller = dispatcher(kave)

    clock.advance(599)  # too early: nobody is asked
    assert await poller.poll_once() == 0
    assert not [r for r in fakes.kave.requests if r.method == "status"]

    clock.advance(2)
    assert await poller.poll_once() == 1
    [query] = [r for r in fakes.kave.requests if r.method == "status"]
    assert query.one("messageid") == mid
    r = await row(kave, sms_id)
    assert (r["status"], r["provider_status"]) == ("undelivered", "11")
    assert await poller.poll_once() == 0


async def test_poll_asks_again_only_after_the_interval(
    kave: Client, fakes: Fakes, clock: FakeClock
) -> None:
    sms_id, mid = await sent_message(kave)
    poller = dispatcher(kave)
    clock.advance(601)
    assert await poller.poll_once() == 0  # still status 1 (queued): no change
    assert await poller.poll_once() == 0
    assert len([r for r in fakes.kave.requests if r.method == "status"]) == 1
    fakes.kave.set_status(int(mid), 10)
    clock.advance(601)
    assert await poller.poll_once() == 1
    assert (await row(kave, sms_id))["status"] == "delivered"


async def test_poll_stops_after_48_hours(kave: Client, fakes: Fakes, clock: FakeClock) -> None:
    await sent_message(kave)
    clock.advance(48 * 3600 + 1)
    assert await dispatcher(kave).poll_once() == 0
    assert not [r for r in fakes.kave.requests if r.method == "status"]


async def test_poll_at_the_fallback_that_sent_it(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await gateway(**fakes.settings(sms_fallback="smsir"))
    fakes.kave.fail(418)
    sms_id, _ = await sent_message(client)
    fakes.smsir.accepted[0].delivery_state = 1
    clock.advance(601)
    assert await dispatcher(client).poll_once() == 1
    assert (await row(client, sms_id))["status"] == "delivered"
    assert not [r for r in fakes.kave.requests if r.method == "status"]
