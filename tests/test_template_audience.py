"""Templates in the organisation's own voice, or carrying a secret the gateway makes, are sent
only by the gateway's flows: a `notify` key naming one gets 400 as for an unknown template."""

from __future__ import annotations

import pytest

from templates_sms import load_templates
from tests.api_helpers import bearer, call, sms
from tests.conftest import GatewayFactory


@pytest.mark.parametrize(
    ("template", "params"),
    [
        ("password_reset", {"password": "Ab12345678", "tracking_code": "123456"}),
        ("registration_activated", {"gender": "male", "name": "http://evil.example/x?a=1"}),
    ],
)
async def test_a_gateway_template_is_refused_to_a_notify_key(
    gateway: GatewayFactory, template: str, params: dict[str, str]
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    body = {"recipient": "09121234567", "template": template, "params": params}
    status, answer = await call(client, "POST", "/v1/notifications", auth, body)
    assert (status, answer["code"], answer["field"]) == (400, "unknown_template", "template")
    assert await sms(client) == []


async def test_activation_code_stays_available(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    body = {"recipient": "09121234567", "template": "activation_code", "params": {"code": "4829"}}
    assert (await call(client, "POST", "/v1/notifications", auth, body))[0] == 202


CALLER_TEMPLATES = {"activation_code", "keyword_help"}


def _gateway_templates() -> list[str]:
    return sorted(t.id for t in load_templates() if t.id not in CALLER_TEMPLATES)


@pytest.mark.parametrize("template", _gateway_templates())
async def test_every_flow_template_is_refused_to_a_notify_key(
    gateway: GatewayFactory, template: str
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    body = {"recipient": "09121234567", "template": template, "params": {}}
    status, answer = await call(client, "POST", "/v1/notifications", auth, body)
    assert (status, answer["code"], answer["field"]) == (400, "unknown_template", "template")
    assert await sms(client) == []


def test_only_the_two_caller_templates_are_open() -> None:
    assert {t.id for t in load_templates() if t.audience == "callers"} == CALLER_TEMPLATES
