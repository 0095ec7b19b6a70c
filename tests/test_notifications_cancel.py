"""DELETE /v1/notifications/{id}: a message no dispatcher has taken is cancelled and never goes
out; one being handed over or sent is refused with 409; against a dispatcher claiming at the same
moment, exactly one of the two wins."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.appkeys import DISPATCHER
from tests.api_helpers import bearer, call, storage
from tests.conftest import FakeClock, GatewayFactory
from tests.dispatch_kit import Client, Fakes

NOTICE = {"template": "keyword_help"}


async def notify(client: Client, auth: dict[str, str], *numbers: str, **extra: Any) -> list[str]:
    body = {**NOTICE, "recipients": list(numbers), **extra}
    status, batch = await call(client, "POST", "/v1/notifications", auth, body)
    assert status == 202, batch
    return [n["id"] for n in batch["notifications"]]


async def test_a_scheduled_message_is_cancelled_and_never_sent(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await gateway(**fakes.settings("kavenegar"))
    auth = await bearer(client, "notify")
    later = "2025-11-23T10:00:00+03:30"  # a day after the test clock
    [first, second] = await notify(client, auth, "09121234567", "09351112233", send_at=later)
    status, body = await call(client, "DELETE", f"/v1/notifications/{first}", auth)
    assert status == 200, body
    assert (body["id"], body["status"], body["reason"]) == (
        first,
        "cancelled",
        "cancelled by its sender",
    )
    assert body["final_at"] is not None
    # Asked again: the same answer, nothing else changes.
    assert (await call(client, "DELETE", f"/v1/notifications/{first}", auth))[1] == body
    clock.advance(2 * 24 * 3600)
    await client.app[DISPATCHER].run_once()
    sent = fakes.kave.sms_count_by_localid
    assert first not in sent
    assert sent[second] == 1
    assert (await call(client, "GET", f"/v1/notifications/{first}", auth))[1]["status"] == (
        "cancelled"
    )


async def test_a_sent_message_is_409_and_another_clients_is_404(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    client = await gateway(**fakes.settings("kavenegar"))
    auth = await bearer(client, "notify")
    [sent] = await notify(client, auth, "09121234567")
    await client.app[DISPATCHER].run_once()
    status, body = await call(client, "DELETE", f"/v1/notifications/{sent}", auth)
    assert status == 409
    assert (body["code"], body["state"]) == ("already_handed", "sent")
    [queued] = await notify(client, auth, "09351112233")
    other = await bearer(client, "notify", name="another-portal")
    for missing in (queued, "123456789012345678", "12345", "abc"):
        status, body = await call(client, "DELETE", f"/v1/notifications/{missing}", other)
        assert (status, body["code"]) == (404, "not_found")
    assert (await call(client, "GET", f"/v1/notifications/{queued}", auth))[1]["status"] == (
        "queued"
    )


async def test_cancel_against_a_claim_exactly_one_wins(
    gateway: GatewayFactory, fakes: Fakes
) -> None:
    client = await gateway(**fakes.settings("kavenegar"))
    auth = await bearer(client, "notify")
    numbers = [f"0912{n:07d}" for n in range(1_000_000, 1_000_040)]
    ids = await notify(client, auth, *numbers)
    dispatcher = client.app[DISPATCHER]

    async def cancel(message_id: str, pause: float) -> tuple[str, int]:
        await asyncio.sleep(pause)
        return message_id, (await call(client, "DELETE", f"/v1/notifications/{message_id}", auth))[
            0
        ]

    async def claim() -> None:
        await asyncio.sleep(0.01)
        await dispatcher.run_once()

    # The cancels are spread around the claim, so some land before it and some after.
    results = await asyncio.gather(claim(), *(cancel(i, n * 0.0005) for n, i in enumerate(ids)))
    answers = dict(r for r in results if r is not None)
    await dispatcher.run_once()
    sent = fakes.kave.sms_count_by_localid
    for message_id in ids:
        _, view = await call(client, "GET", f"/v1/notifications/{message_id}", auth)
        if answers[message_id] == 200:
            assert view["status"] == "cancelled"
            assert message_id not in sent
        else:
            assert answers[message_id] == 409
            assert view["status"] in ("sent", "delivered")
            assert sent[message_id] == 1
    assert set(answers.values()) <= {200, 409}


async def test_a_send_whose_answer_never_came_shows_unknown(gateway: GatewayFactory) -> None:
    """Not `queued` (it may have gone) nor `sent` (nobody said so): the view says `unknown`."""
    client = await gateway()
    auth = await bearer(client, "notify")
    [message_id] = await notify(client, auth, "09121234567")
    store: Any = storage(client)
    async with store.db.transaction() as tx:
        await tx.execute("UPDATE outbox SET status = 'unknown' WHERE id = ?", message_id)
    status, view = await call(client, "GET", f"/v1/notifications/{message_id}", auth)
    assert (status, view["status"]) == (200, "unknown")
    status, body = await call(client, "DELETE", f"/v1/notifications/{message_id}", auth)
    assert (status, body["code"], body["state"]) == (409, "already_handed", "unknown")
