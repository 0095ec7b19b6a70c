"""An inbound SMS whose answer failed is answered when the provider retries it, once."""

from __future__ import annotations

from typing import Any

import pytest

from sessions.keywords import Parsed
from sessions.services.deps import Deps
from sessions.services.sms_commands import answer
from tests.api_helpers import Client
from tests.conftest import GatewayFactory
from tests.seed import ME, sms_to

KAVENEGAR = {
    "sms_provider": "kavenegar",
    "kavenegar_api_key": "test-key",
    "kavenegar_sender": "10004346",
    "kavenegar_base_url": "http://127.0.0.1:9",  # never reached: the dispatcher is off
}


async def post_inbound(client: Client, text: str, msgid: str) -> Any:
    form = {"from": "989121234567", "to": "10004346", "message": text, "messageid": msgid}
    return await client.post("/sms/kavenegar/inbound", data=form)


async def test_an_inbound_sms_whose_answer_failed_is_answered_on_the_retry(
    gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await gateway(**KAVENEGAR)
    calls = 0

    async def fails_once(gateway_deps: Deps, sender: str, text: str) -> Parsed:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the database went away")
        return await answer(gateway_deps, sender, text)

    monkeypatch.setattr("sessions.services.inbound.answer", fails_once)

    failed = await post_inbound(client, "HELP", "777001")
    assert failed.status == 500
    assert await sms_to(client, ME) == []

    retried = await post_inbound(client, "HELP", "777001")
    assert retried.status == 200, await retried.text()
    assert await retried.json() == {"accepted": True, "duplicate": False}
    [reply] = await sms_to(client, ME)
    assert reply["template_id"] == "keyword_help"

    again = await post_inbound(client, "HELP", "777001")
    assert await again.json() == {"accepted": True, "duplicate": True}
    assert len(await sms_to(client, ME)) == 1
    assert calls == 2
