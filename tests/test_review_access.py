"""Callbacks without a secret only from this machine, never through a proxy; bodies in an unknown
or wrong charset answered 400, not 500; access-log lines that name the route, not a number typed
with separators; inbound SMS from a short code taken and left unanswered."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, make_mocked_request

from gateway.app import create_app
from gateway.appkeys import SETTINGS
from gateway.settings import Settings
from gateway.web.access import exposure_problem, guard_callback, is_local_caller
from gateway.web.logs import AccessLogger
from providers.smsir import SmsIrProvider
from tests.api_helpers import Client, bearer, call, storage
from tests.conftest import GatewayFactory

SECRET = "r" * 20 + "-review-secret"
HOP = {"session_id": "s-1", "msisdn": "09121234567", "service_code": "*4455#", "hop": 0}
AT_HOP = b"sessionId=1&serviceCode=1&phoneNumber=09121234567&text="
SMS = {"from": "09121234567", "to": "10004346", "message": "راهنما", "messageid": "m-1"}
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


# --- 1. no secret: only a caller on this machine, never through a proxy -----------------------


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


# --- 2. an unknown or wrong charset is a 400, never a 500 -------------------------------------


FORM = "application/x-www-form-urlencoded"
BAD_BODIES = [
    pytest.param(f"{FORM}; charset=nope", AT_HOP, id="form-unknown-charset"),
    pytest.param(f"{FORM}; charset=hex", AT_HOP, id="form-bytes-codec"),
    pytest.param(f"{FORM}; charset=ascii", b"text=\xff", id="form-bytes-not-in-charset"),
    pytest.param("application/json; charset=nope", b'{"from": "1"}', id="json-unknown-charset"),
    pytest.param("application/json", b'{"from": "\xff"}', id="json-invalid-utf8"),
    pytest.param("multipart/form-data", b"junk", id="multipart-no-boundary"),
    pytest.param(
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="text"\r\n'
        b"Content-Type: text/plain; charset=nope\r\n\r\nx\r\n--b--\r\n",
        id="multipart-part-unknown-charset",
    ),
    pytest.param(
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="text"\r\n'
        b"Content-Transfer-Encoding: weird\r\n\r\nx\r\n--b--\r\n",
        id="multipart-unknown-encoding",
    ),
]


@pytest.mark.parametrize(("content_type", "body"), BAD_BODIES)
async def test_an_unreadable_ussd_body_is_a_400(
    gateway: GatewayFactory, content_type: str, body: bytes
) -> None:
    client = await gateway()
    async with client.post(
        "/ussd/africastalking", data=body, headers={"Content-Type": content_type}
    ) as resp:
        assert resp.status == 400, await resp.text()
        code = (await resp.json())["code"]
    # This dialect reads forms: a JSON body is no form at all, so its fields are missing.
    assert code == ("missing_fields" if content_type.startswith("application/json") else
                    "malformed_body")  # fmt: skip


@pytest.mark.parametrize("path", ["/sms/console/inbound", "/sms/console/status"])
@pytest.mark.parametrize(("content_type", "body"), BAD_BODIES)
async def test_an_unreadable_sms_callback_body_is_a_400(
    gateway: GatewayFactory, path: str, content_type: str, body: bytes
) -> None:
    client = await gateway()
    async with client.post(path, data=body, headers={"Content-Type": content_type}) as resp:
        assert resp.status == 400, await resp.text()
        assert (await resp.json())["code"] == "invalid_callback"


async def test_an_oversize_body_in_an_unknown_charset_is_still_a_413(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    body = b"text=" + b"1" * 20_000
    headers = {"Content-Type": f"{FORM}; charset=nope"}
    for path in ("/ussd/africastalking", "/sms/console/inbound"):
        async with client.post(path, data=body, headers=headers) as resp:
            assert resp.status == 413


# --- 3. the access log names the route, not the path as typed ---------------------------------

NID = "0013542419"
TYPED = ["001-354-2419", "001%20354%202419", "0013 5424 19", "۰۰۱-۳۵۴-۲۴۱۹"]


async def test_numbers_typed_with_separators_never_reach_the_access_log(
    aiohttp_client: Any, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    server = TestServer(create_app(settings))
    await server.start_server(access_log_class=AccessLogger)
    client = await aiohttp_client(server)
    caplog.set_level("INFO", logger="aiohttp.access")
    auth = await bearer(client, "records")
    person = {"mobile": "0912-123-4567", "status": "activated"}
    status, _ = await call(client, "PUT", "/v1/registrations/001-354-2419", auth, person)
    assert status == 201
    for typed in TYPED:
        assert (await call(client, "GET", f"/v1/registrations/{typed}", auth))[0] == 200
    # Matching no route: the path is logged, with the digit runs hidden.
    async with client.get("/v1/nowhere/001-354-2419/0912 123 4567") as resp:
        assert resp.status == 404

    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    paths = [line.rsplit(" ", 2)[0] for line in lines]  # without the status and the time
    assert "PUT /v1/registrations/{national_id}" in paths
    assert paths.count("GET /v1/registrations/{national_id}") == len(TYPED)
    assert any(p.startswith("GET /v1/nowhere/") for p in paths), paths
    digits = {c for p in paths for c in p if c.isdigit()}
    assert digits <= {"1"}, paths  # only the `1` of `/v1/`


# --- 4. inbound SMS from a sender that is not a mobile ----------------------------------------


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
