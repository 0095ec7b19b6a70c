"""Provider and operator callbacks without a secret are taken only from this machine, never
through a proxy; with a secret, from anywhere that presents it."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from gateway.appkeys import SETTINGS
from gateway.settings import Settings
from gateway.web.access import exposure_problem, guard_callback, is_local_caller
from tests.api_helpers import Client, storage
from tests.conftest import GatewayFactory

SECRET = "r" * 20 + "-review-secret"
HOP = {"session_id": "s-1", "msisdn": "09121234567", "service_code": "*4455#", "hop": 0}
SMS = {"from": "09121234567", "to": "10004346", "message": "راهنما", "messageid": "m-1"}
FORWARDED = [
    {"X-Forwarded-For": "203.0.113.9"},
    {"X-Forwarded-For": "127.0.0.1"},  # a forged or a local hop proves nothing either
    {"Forwarded": "for=203.0.113.9;proto=https"},
    {"X-Real-IP": "203.0.113.9"},
]


def cfg(tmp_path: Path, **values: Any) -> Settings:
    return Settings(db=tmp_path / "g.db", dispatcher_enabled=False, _env_file=None, **values)


async def hop(client: Client, **headers: str) -> tuple[int, Any]:
    async with client.post("/ussd/json", json=HOP, headers=headers) as resp:
        assert resp.content_type == "application/json"
        return resp.status, await resp.json()


def _forbidden(status: int, body: Any) -> None:
    assert (status, body["code"]) == (403, "forbidden")
    assert "secret" in body["message"]
    assert "text" not in body  # no screen


@pytest.mark.parametrize("headers", FORWARDED, ids=lambda h: next(iter(h)))
async def test_without_a_secret_a_proxied_ussd_callback_is_refused(
    gateway: GatewayFactory, headers: dict[str, str]
) -> None:
    client = await gateway()
    assert (await hop(client))[0] == 200  # straight from this machine: still served
    _forbidden(*await hop(client, **headers))


@pytest.mark.parametrize("headers", FORWARDED, ids=lambda h: next(iter(h)))
async def test_without_a_secret_a_proxied_sms_callback_is_refused(
    gateway: GatewayFactory, headers: dict[str, str]
) -> None:
    client = await gateway()
    async with client.post("/sms/console/inbound", data=SMS, headers=headers) as resp:
        _forbidden(resp.status, await resp.json())
    report = {"messageid": "console-1", "status": "delivered"}
    async with client.get("/sms/console/status", params=report, headers=headers) as resp:
        _forbidden(resp.status, await resp.json())
    assert await storage(client).outbox_messages() == []
    async with client.post("/sms/console/inbound", data=SMS) as resp:
        assert resp.status == 200


async def test_without_a_secret_a_configured_proxy_closes_every_callback(
    gateway: GatewayFactory,
) -> None:
    client = await gateway(trusted_proxies="127.0.0.1")
    _forbidden(*await hop(client))
    async with client.post("/sms/console/inbound", data=SMS) as resp:
        _forbidden(resp.status, await resp.json())


async def test_behind_a_proxy_the_secret_opens_the_callbacks(gateway: GatewayFactory) -> None:
    client = await gateway(
        trusted_proxies="127.0.0.1", ussd_secrets={"*": SECRET}, sms_callback_secret={"*": SECRET}
    )
    proxied = {"X-Forwarded-For": "203.0.113.9", "X-Gateway-Token": SECRET}
    assert (await hop(client, **proxied))[0] == 200
    async with client.post(f"/sms/console/inbound/{SECRET}", data=SMS, headers=proxied) as resp:
        assert resp.status == 200
    assert (await hop(client, **{"X-Forwarded-For": "203.0.113.9"}))[0] == 401


def _mocked(settings: Settings, remote: str, **headers: str) -> web.Request:
    app = web.Application()
    app[SETTINGS] = settings
    return make_mocked_request("POST", "/ussd/json", headers=headers, app=app).clone(remote=remote)


@pytest.mark.parametrize(
    ("remote", "headers", "local"),
    [
        ("127.0.0.1", {}, True),
        ("127.8.0.1", {}, True),
        ("::1", {}, True),
        ("::ffff:127.0.0.1", {}, True),
        ("203.0.113.9", {}, False),
        ("10.0.0.1", {}, False),
        ("", {}, False),
        ("127.0.0.1", {"X-Forwarded-For": "127.0.0.1"}, False),
        ("127.0.0.1", {"forwarded": "for=127.0.0.1"}, False),
        ("127.0.0.1", {"X-Real-IP": "127.0.0.1"}, False),
    ],
)
def test_a_local_caller_is_the_peer_itself(
    tmp_path: Path, remote: str, headers: dict[str, str], local: bool
) -> None:
    settings = cfg(tmp_path)
    request = _mocked(settings, remote, **headers)
    assert is_local_caller(request, settings) is local
    refused = guard_callback(request, "ussd", "json")
    assert (refused is None) is local
    if refused is not None:
        assert refused.status == 403
    proxied = settings.model_copy(update={"trusted_proxies": [ip_network("192.0.2.0/24")]})
    assert not is_local_caller(_mocked(proxied, remote, **headers), proxied)


def test_the_refusal_to_start_no_longer_suggests_a_proxy(tmp_path: Path) -> None:
    problem = exposure_problem(cfg(tmp_path, host="0.0.0.0"))  # noqa: S104
    assert problem is not None
    assert "GATEWAY_USSD_SECRETS" in problem
    assert "proxy" not in problem
    assert "127.0.0.1" not in problem
