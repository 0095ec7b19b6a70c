"""Operator callbacks prove themselves: a shared secret per dialect and per SMS provider (path
token or header), an optional IP allow-list, and no unauthenticated callback on a public address."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from pydantic import SecretStr, ValidationError

from gateway.app import create_app
from gateway.settings import Settings
from gateway.web.access import (
    InsecureSettings,
    check_exposure,
    client_address,
    exposure_problem,
    is_loopback,
    tokens_match,
)
from tests.api_helpers import Client, storage
from tests.conftest import GatewayFactory

USSD_SECRET = "u" * 20 + "-ussd-secret"
SMS_SECRET = "s" * 20 + "-sms-secret"
HOP = {"session_id": "s-1", "msisdn": "09121234567", "service_code": "*4455#", "hop": 0}


def cfg(tmp_path: Path, **values: Any) -> Settings:
    return Settings(db=tmp_path / "g.db", dispatcher_enabled=False, _env_file=None, **values)


async def hop(client: Client, path: str = "/ussd/json", **headers: str) -> tuple[int, Any]:
    async with client.post(path, json=HOP, headers=headers) as resp:
        assert resp.content_type == "application/json"
        return resp.status, await resp.json()


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f'{{"json": "{USSD_SECRET}"}}', {"json": USSD_SECRET}),
        (f"json={USSD_SECRET}, africastalking={SMS_SECRET}", {"json": USSD_SECRET,
                                                              "africastalking": SMS_SECRET}),
        (USSD_SECRET, {"*": USSD_SECRET}),
        ("", {}),
    ],
)  # fmt: skip
def test_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: dict[str, str]
) -> None:
    monkeypatch.setenv("GATEWAY_USSD_SECRETS", raw)
    monkeypatch.setenv("GATEWAY_SMS_CALLBACK_SECRET", raw)
    settings = Settings(_env_file=None)
    for found in (settings.ussd_secrets, settings.sms_callback_secret):
        assert {k: v.get_secret_value() for k, v in found.items()} == expected
    assert USSD_SECRET not in repr(settings)
    assert USSD_SECRET not in str(settings.model_dump())


@pytest.mark.parametrize("raw", ["json=short", '{"json": 5}', "json", "={}".format("x" * 20)])
def test_weak_or_malformed_secrets_are_refused_without_echoing_them(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("GATEWAY_USSD_SECRETS", raw)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    from run import settings_problem

    assert "GATEWAY_USSD_SECRETS" in settings_problem(caught.value)
    if len(raw) > 8:
        assert raw not in settings_problem(caught.value)


def test_networks_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_CALLBACK_ALLOW", "10.0.0.0/8, 2001:db8::/32,192.0.2.7")
    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", "")
    settings = Settings(_env_file=None)
    assert settings.callback_allow == [
        ip_network("10.0.0.0/8"),
        ip_network("2001:db8::/32"),
        ip_network("192.0.2.7/32"),
    ]
    assert settings.trusted_proxies == []


# --- the loopback rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False),  # noqa: S104 ("::", False), ("", False),
     ("10.1.2.3", False), ("gateway.example", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_no_secret_on_a_public_address_cannot_build_an_app(tmp_path: Path) -> None:
    with pytest.raises(InsecureSettings, match="GATEWAY_USSD_SECRETS"):
        create_app(cfg(tmp_path, host="0.0.0.0"))  # noqa: S104
    assert exposure_problem(cfg(tmp_path)) is None  # loopback: anything goes
    check_exposure(cfg(tmp_path, host="10.0.0.5", ussd_secrets={"*": USSD_SECRET}))


def test_a_real_provider_on_a_public_address_needs_its_callback_secret(tmp_path: Path) -> None:
    kavenegar = {"sms_provider": "kavenegar", "kavenegar_api_key": "k"}
    public = cfg(tmp_path, host="10.0.0.5", ussd_secrets={"*": USSD_SECRET}, **kavenegar)
    problem = exposure_problem(public)
    assert problem is not None
    assert "GATEWAY_SMS_CALLBACK_SECRET (for kavenegar)" in problem
    secured = public.model_copy(update={"sms_callback_secret": {"kavenegar": SecretStr("x" * 16)}})
    assert exposure_problem(secured) is None


# --- USSD callbacks ---------------------------------------------------------------------------


async def test_no_secret_on_loopback_accepts_callbacks(gateway: GatewayFactory) -> None:
    client = await gateway()
    status, body = await hop(client)
    assert status == 200
    assert body["text"]


async def test_ussd_secret_by_header_or_path(gateway: GatewayFactory) -> None:
    client = await gateway(ussd_secrets={"json": USSD_SECRET})
    for headers in ({}, {"X-Gateway-Token": "wrong-" + USSD_SECRET}, {"X-Gateway-Token": ""}):
        status, body = await hop(client, **headers)
        assert (status, body["code"]) == (401, "unauthorized")
        assert "text" not in body  # no screen leaks out
    for path in ("/ussd/json/wrong-token", f"/ussd/json/{USSD_SECRET}x"):
        status, body = await hop(client, path)
        assert (status, body["code"]) == (401, "unauthorized")
    status, body = await hop(client, **{"X-Gateway-Token": USSD_SECRET})
    assert status == 200
    assert body["hop"] == 0
    status, body = await hop(client, f"/ussd/json/{USSD_SECRET}")
    assert status == 200
    assert body["hop"] == 0


async def test_each_dialect_has_its_own_secret(gateway: GatewayFactory) -> None:
    client = await gateway(ussd_secrets={"json": USSD_SECRET, "africastalking": SMS_SECRET})
    status, _ = await hop(client, f"/ussd/json/{SMS_SECRET}")
    assert status == 401
    form = {"sessionId": "a1", "serviceCode": "*4455#", "phoneNumber": "09121234567", "text": ""}
    async with client.post(f"/ussd/africastalking/{SMS_SECRET}", data=form) as resp:
        assert resp.status == 200
        assert (await resp.text()).startswith("CON ")
    async with client.post(f"/ussd/africastalking/{USSD_SECRET}", data=form) as resp:
        assert resp.status == 401


async def test_the_header_name_is_configurable(gateway: GatewayFactory) -> None:
    client = await gateway(ussd_secrets={"*": USSD_SECRET}, callback_token_header="X-Operator-Key")
    assert (await hop(client, **{"X-Gateway-Token": USSD_SECRET}))[0] == 401
    assert (await hop(client, **{"X-Operator-Key": USSD_SECRET}))[0] == 200


async def test_on_a_public_address_a_dialect_without_a_secret_is_closed(
    gateway: GatewayFactory,
) -> None:
    # The test server listens on loopback, but the settings say the gateway is public.
    client = await gateway(host="0.0.0.0", ussd_secrets={"africastalking": USSD_SECRET})  # noqa: S104
    status, body = await hop(client)
    assert (status, body["code"]) == (403, "forbidden")


async def test_unknown_dialect_with_a_token_is_not_found(gateway: GatewayFactory) -> None:
    client = await gateway(ussd_secrets={"*": USSD_SECRET})
    status, _ = await hop(client, f"/ussd/nope/{USSD_SECRET}")
    assert status == 404


# --- SMS callbacks: delivery reports and inbound messages -------------------------------------


async def test_a_forged_delivery_report_changes_nothing(gateway: GatewayFactory) -> None:
    client = await gateway(sms_callback_secret={"console": SMS_SECRET})
    report = {"messageid": "console-1", "status": "delivered"}
    for path, headers in [
        ("/sms/console/status", {}),
        ("/sms/console/status", {"X-Gateway-Token": USSD_SECRET}),
        ("/sms/console/status/guess", {}),
    ]:
        async with client.post(path, data=report, headers=headers) as resp:
            assert resp.status == 401
            assert (await resp.json())["code"] == "unauthorized"
        async with client.get(path, params=report, headers=headers) as resp:
            assert resp.status == 401
    async with client.post(f"/sms/console/status/{SMS_SECRET}", data=report) as resp:
        assert resp.status == 200
        assert (await resp.json()) == {"updated": 0}
    async with client.get(
        "/sms/console/status", params=report, headers={"X-Gateway-Token": SMS_SECRET}
    ) as resp:
        assert resp.status == 200


async def test_a_forged_inbound_sms_is_not_answered(gateway: GatewayFactory) -> None:
    client = await gateway(sms_callback_secret={"*": SMS_SECRET})
    sms = {"from": "09121234567", "to": "10004346", "message": "راهنما", "messageid": "m-1"}
    async with client.post("/sms/console/inbound", data=sms) as resp:
        assert resp.status == 401
    assert await storage(client).outbox_messages() == []
    async with client.post(f"/sms/console/inbound/{SMS_SECRET}", data=sms) as resp:
        assert resp.status == 200
        assert (await resp.json())["accepted"] is True
    assert await storage(client).outbox_messages() != []


async def test_sms_secret_is_not_a_ussd_secret(gateway: GatewayFactory) -> None:
    client = await gateway(ussd_secrets={"*": USSD_SECRET}, sms_callback_secret={"*": SMS_SECRET})
    assert (await hop(client, f"/ussd/json/{SMS_SECRET}"))[0] == 401
    async with client.post(f"/sms/console/status/{USSD_SECRET}", data={}) as resp:
        assert resp.status == 401


# --- the IP allow-list ------------------------------------------------------------------------


async def test_allow_list(gateway: GatewayFactory) -> None:
    closed = await gateway(callback_allow="10.0.0.0/8")
    status, body = await hop(closed)
    assert (status, body["code"]) == (403, "forbidden")
    # Not a trusted proxy: its X-Forwarded-For is not believed.
    assert (await hop(closed, **{"X-Forwarded-For": "10.1.2.3"}))[0] == 403
    opened = await gateway(callback_allow="10.0.0.0/8,127.0.0.0/8")
    assert (await hop(opened))[0] == 200


async def test_allow_list_behind_a_trusted_proxy(gateway: GatewayFactory) -> None:
    # Behind a proxy a secret is required, whatever the allow-list says.
    client = await gateway(
        callback_allow="10.0.0.0/8", trusted_proxies="127.0.0.1", ussd_secrets={"*": USSD_SECRET}
    )
    token = {"X-Gateway-Token": USSD_SECRET}
    assert (await hop(client, **token, **{"X-Forwarded-For": "10.1.2.3"}))[0] == 200
    # The client put its own header in front: only the hop the proxy added counts.
    assert (await hop(client, **token, **{"X-Forwarded-For": "10.1.2.3, 203.0.113.9"}))[0] == 403
    assert (await hop(client, **token, **{"X-Forwarded-For": "not-an-address"}))[0] == 403
    assert (await hop(client, **token))[0] == 403  # the proxy itself is not on the list


def _request(remote: str, forwarded: str | None = None) -> web.Request:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    request = make_mocked_request("POST", "/ussd/json", headers=headers)
    return request.clone(remote=remote)


def test_client_address_walks_the_proxy_chain() -> None:
    proxies = [ip_network("192.0.2.0/24")]
    assert client_address(_request("198.51.100.1", "10.0.0.1"), proxies) == ip_address(
        "198.51.100.1"
    )
    assert client_address(_request("192.0.2.1", "10.0.0.1, 192.0.2.9"), proxies) == ip_address(
        "10.0.0.1"
    )
    assert client_address(_request("192.0.2.1", "192.0.2.8"), proxies) == ip_address("192.0.2.8")
    assert client_address(_request("192.0.2.1"), proxies) == ip_address("192.0.2.1")
    assert client_address(_request("192.0.2.1", "10.0.0.1"), []) == ip_address("192.0.2.1")


def test_tokens_match_in_constant_time_over_digests() -> None:
    secret = SecretStr(USSD_SECRET)
    assert tokens_match(USSD_SECRET, secret)
    assert not tokens_match(USSD_SECRET[:-1], secret)
    assert not tokens_match(USSD_SECRET + "x", secret)
    assert not tokens_match("\udcff", secret)  # a surrogate from a mangled path does not raise
