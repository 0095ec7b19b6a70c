"""`GET /v1/notifications/{id}`: a message's state for the system that caused it."""

from __future__ import annotations

import pytest

from gateway.appkeys import STORAGE
from tests.conftest import FakeClock
from tests.dispatch_kit import (
    Client,
    Fakes,
    bearer,
    dispatcher,
    enqueue,
)


async def test_queued_then_sent_then_delivered(
    kave: Client, fakes: Fakes, clock: FakeClock
) -> None:
    auth = await bearer(kave, "notify")
    sms = await enqueue(kave)
    resp = await kave.get(f"/v1/notifications/{sms.id}", headers=auth)
    assert resp.status == 200
    assert await resp.json() == {
        "id": sms.id,
        "recipient": "0912***4567",
        "template_id": "complaint_received",
        "status": "queued",
        "reason": None,
        "attempts": 0,
        "provider": None,
        "created_at": "2025-11-22T08:26:40Z",
        "sent_at": None,
        "final_at": None,
    }

    clock.advance(2)
    await dispatcher(kave).run_once()
    body = await (await kave.get(f"/v1/notifications/{sms.id}", headers=auth)).json()
    assert (body["status"], body["provider"], body["attempts"]) == ("sent", "kavenegar", 1)
    assert body["sent_at"] == "2025-11-22T08:26:42Z"

    clock.advance(3)
    mid = str(fakes.kave.accepted[0].messageid)
    await kave.post("/sms/kavenegar/status", data={"messageid": mid, "status": "10"})
    body = await (await kave.get(f"/v1/notifications/{sms.id}", headers=auth)).json()
    assert (body["status"], body["reason"]) == ("delivered", None)
    assert body["final_at"] == "2025-11-22T08:26:45Z"


async def test_permanent_failure_shows_the_reason(kave: Client, fakes: Fakes) -> None:
    auth = await bearer(kave, "notify")
    fakes.kave.bad_receptors["09121234567"] = 411
    sms = await enqueue(kave)
    await dispatcher(kave).run_once()
    body = await (await kave.get(f"/v1/notifications/{sms.id}", headers=auth)).json()
    assert body["status"] == "failed"
    assert body["reason"].startswith("kavenegar 411: sms/send")
    assert body["final_at"] == "2025-11-22T08:26:40Z"
    assert "09121234567" not in str(body)


async def test_sending_shows_as_queued(
    kave: Client, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = await bearer(kave, "notify")
    sms = await enqueue(kave)
    storage = kave.app[STORAGE]

    async def lost(*_args: object) -> int:
        raise RuntimeError("crashed before the write")

    monkeypatch.setattr(storage, "record_outcomes", lost)
    with pytest.raises(RuntimeError):
        await dispatcher(kave).run_once()
    body = await (await kave.get(f"/v1/notifications/{sms.id}", headers=auth)).json()
    assert (body["status"], body["attempts"]) == ("queued", 1)


@pytest.mark.parametrize("wanted", ["100000000000000000", "abc", "۱۲۳"])
async def test_unknown_id_is_404(kave: Client, wanted: str) -> None:
    auth = await bearer(kave, "notify")
    resp = await kave.get(f"/v1/notifications/{wanted}", headers=auth)
    assert resp.status == 404
    assert (await resp.json())["code"] == "not_found"


async def test_needs_a_key_with_the_notify_scope(kave: Client) -> None:
    sms = await enqueue(kave)
    resp = await kave.get(f"/v1/notifications/{sms.id}")
    assert resp.status == 401
    auth = await bearer(kave, "records")
    resp = await kave.get(f"/v1/notifications/{sms.id}", headers=auth)
    assert resp.status == 403
    assert (await resp.json())["code"] == "forbidden"
