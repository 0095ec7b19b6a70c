"""Inbound SMS from a sender that is not a mobile (a short code) is taken, deduplicated and
left unanswered, on every provider."""

from __future__ import annotations

import pytest

from providers.smsir import SmsIrProvider
from tests.api_helpers import storage
from tests.conftest import GatewayFactory

KAVENEGAR = {
    "sms_provider": "kavenegar",
    "kavenegar_api_key": "test-key",
    "kavenegar_sender": "10004346",
    "kavenegar_base_url": "http://127.0.0.1:9",  # never reached: the dispatcher is off
}
SMSIR = {
    "sms_provider": "smsir",
    "smsir_api_key": "test-key",
    "smsir_sender": "30004346",
    "smsir_base_url": "http://127.0.0.1:9",
}


@pytest.mark.parametrize(
    ("provider", "overrides", "form"),
    [
        ("kavenegar", KAVENEGAR, {"from": "1000", "to": "10004346", "message": "help"}),
        ("kavenegar", KAVENEGAR, {"from": "۳۰۰۰ ۱۲۳", "to": "10004346", "message": "?"}),
        ("smsir", SMSIR, {"mobile": "1000", "number": "30004346", "messageText": "help"}),
    ],
)
async def test_inbound_from_a_short_code_is_taken_and_not_answered(
    gateway: GatewayFactory, provider: str, overrides: dict[str, str], form: dict[str, str]
) -> None:
    client = await gateway(**overrides)
    ids = {"kavenegar": "messageid", "smsir": "receiveReturnId"}
    body = {**form, ids[provider]: "7001"}
    async with client.post(f"/sms/{provider}/inbound", data=body) as resp:
        assert resp.status == 200, await resp.text()
        assert await resp.json() == {"accepted": True, "duplicate": False}
    async with client.post(f"/sms/{provider}/inbound", data=body) as resp:  # a retry
        assert await resp.json() == {"accepted": True, "duplicate": True}
    assert await storage(client).outbox_messages() == []


def test_smsir_keeps_a_short_code_sender_as_given() -> None:
    provider = SmsIrProvider(None, "k", "30004346", "http://127.0.0.1:9", 1.0)  # type: ignore[arg-type]
    got = provider.parse_inbound(
        {"mobile": "۱۰۰۰", "number": "30004346", "messageText": "x", "receiveReturnId": "5"}
    )
    assert (got.sender, got.receiver, got.provider_message_id) == ("1000", "30004346", "5")
    with pytest.raises(ValueError, match=r"^missing fields: mobile$"):
        provider.parse_inbound({"mobile": " ", "number": "1", "receiveReturnId": "5"})
