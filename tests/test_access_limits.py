"""Limits and headers: reset verification per national ID and per API key, body sizes per route
class, security headers, and `serve` refusing a configuration it cannot run safely."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from gateway.app import create_app
from gateway.settings import Settings
from gateway.storage import Store
from gateway.web.access import API_MAX_BODY, CALLBACK_MAX_BODY
from gateway.web.auth import new_api_key
from gateway.web.logs import AccessLogger
from sessions.records import Limit, Registration
from sessions.services import registration, reset
from tests.api_helpers import Client, bearer, call, deps, storage
from tests.conftest import FakeClock, GatewayFactory

ROOT = Path(__file__).resolve().parent.parent
NID = "0012345679"
NID2 = "0013542419"
MOBILE = "09121234567"
VERIFY = "/v1/password-resets/verify"


async def verify(client: Client, auth: dict[str, str], nid: str = NID) -> tuple[int, Any, Any]:
    body = {"national_id": nid, "password": "Wrong1234"}
    async with client.post(VERIFY, json=body, headers=auth) as resp:
        return resp.status, await resp.json(), resp.headers


# --- reset verification -----------------------------------------------------------------------


async def test_ten_verifications_per_national_id_per_hour(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    await registration.put(deps(client), Registration(NID, MOBILE, "activated"), "test")
    auth = await bearer(client, "resets")
    for _ in range(10):
        assert (await verify(client, auth))[0] == 200
    status, body, headers = await verify(client, auth)
    assert (status, body["code"]) == (429, "rate_limited")
    wait = int(headers["Retry-After"])
    assert 1 <= wait <= 3600
    # A new reset does not reopen the guessing: the limit is per national ID, across resets.
    await reset.request_reset(deps(client), NID, MOBILE, "fa", "ussd")
    assert (await verify(client, auth))[0] == 429
    other_key = await bearer(client, "resets", name="staff")
    assert (await verify(client, other_key))[0] == 429
    assert (await verify(client, auth, NID2))[0] == 200  # another citizen is not affected
    clock.advance(wait)
    assert (await verify(client, auth))[0] == 200


async def test_a_limited_attempt_does_not_spend_the_reset(gateway: GatewayFactory) -> None:
    client = await gateway()
    await registration.put(deps(client), Registration(NID, MOBILE, "activated"), "test")
    auth = await bearer(client, "resets")
    await reset.request_reset(deps(client), NID, MOBILE, "fa", "ussd")
    limits = reset.verify_limits(deps(client), NID, "anything")[:1]
    for _ in range(10):
        await storage(client).hit_limits(limits, deps(client).clock())
    assert (await verify(client, auth))[0] == 429
    latest = await storage(client).latest_reset(NID)
    assert latest is not None
    assert latest.status == "active"


async def test_verifications_per_api_key(gateway: GatewayFactory) -> None:
    """A stolen key cannot sweep many national IDs: the key's own limit stops it."""
    client = await gateway()
    key, record = new_api_key("portal", frozenset({"resets"}), 0.0)
    await storage(client).add_api_key(record)
    auth = {"Authorization": f"Bearer {key}"}
    policy = deps(client).policy
    per_key = reset.verify_limits(deps(client), NID, record.key_id)[1]
    assert per_key.limit == policy.verifications_per_key_per_minute
    for _ in range(per_key.limit - 1):
        await storage(client).hit_limits([per_key], deps(client).clock())
    assert (await verify(client, auth, NID2))[0] == 200
    status, body, headers = await verify(client, auth, NID)
    assert (status, body["code"]) == (429, "rate_limited")
    assert 1 <= int(headers["Retry-After"]) <= 60
    other = await bearer(client, "resets", name="other")
    assert (await verify(client, other, NID))[0] == 200


async def test_a_full_limit_counts_nothing_and_a_new_window_clears_the_old_one(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    store = storage(client)
    assert isinstance(store, Store)
    limit = Limit("sms-answer:test", 2, 3600)

    async def counters() -> list[tuple[float, int]]:
        async with store.db.reading() as tx:
            rows = await tx.fetch(
                "SELECT window_start, count FROM rate_limits WHERE key = ?", limit.key
            )
        return [(float(row[0]), int(row[1])) for row in rows]

    async with store.unit_of_work():  # the way an inbound SMS counts
        got = [await store.hit_limits([limit], clock()) for _ in range(3)]
    assert got == [None, None, limit]
    window = clock() - clock() % 3600
    assert await counters() == [(window, 2)]
    clock.advance(3600)
    assert await store.hit_limits([limit], clock()) is None
    assert await counters() == [(window + 3600, 1)]


# --- body sizes -------------------------------------------------------------------------------


async def test_callback_bodies_are_small(gateway: GatewayFactory) -> None:
    client = await gateway()
    big = b'{"pad": "' + b"x" * CALLBACK_MAX_BODY + b'"}'
    for path in ("/ussd/json", "/ussd/africastalking", "/sms/console/status"):
        async with client.post(path, data=big) as resp:
            assert resp.status == 413
            assert (await resp.json())["code"] == "body_too_large"


async def test_an_undeclared_body_is_capped_while_read(gateway: GatewayFactory) -> None:
    client = await gateway()

    async def chunks() -> Any:
        for _ in range(CALLBACK_MAX_BODY // 1024 + 2):
            yield b"x" * 1024

    async with client.post("/ussd/json", data=chunks()) as resp:
        assert resp.status == 413
        assert (await resp.json())["code"] == "body_too_large"


async def test_api_bodies_may_be_larger(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    padded = b'{"pad": "' + b"x" * (CALLBACK_MAX_BODY * 4) + b'"}'
    status, body = await call(client, "POST", "/v1/notifications", auth, raw=padded)
    assert status == 400  # read and refused as a bad request, not for its size
    too_big = b'{"pad": "' + b"x" * API_MAX_BODY + b'"}'
    status, body = await call(client, "POST", "/v1/notifications", auth, raw=too_big)
    assert (status, body["code"]) == (413, "body_too_large")


# --- headers ----------------------------------------------------------------------------------


async def test_every_answer_is_nosniff_and_html_gets_the_full_set(gateway: GatewayFactory) -> None:
    client = await gateway()
    for path in ("/healthz", "/openapi.json", "/no-such-page", "/v1/complaints"):
        async with client.get(path) as resp:
            assert resp.headers["X-Content-Type-Options"] == "nosniff", path
    async with client.get("/docs") as resp:
        assert resp.content_type == "text/html"
        for name in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"):
            assert name in resp.headers
    auth = await bearer(client, "records")
    async with client.get(f"/v1/registrations/{NID}", headers=auth) as resp:
        assert resp.headers["Cache-Control"] == "no-store"


async def test_a_path_token_never_reaches_the_access_log(
    aiohttp_client: Any, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "t" * 24
    cfg = settings.model_copy(update={"ussd_secrets": {"*": SecretStr(secret)}})
    server = TestServer(create_app(cfg))
    await server.start_server(access_log_class=AccessLogger)
    client = await aiohttp_client(server)
    caplog.set_level("INFO", logger="aiohttp.access")
    form = {"sessionId": "a1", "serviceCode": "*4455#", "phoneNumber": MOBILE, "text": ""}
    async with client.post(f"/ussd/africastalking/{secret}", data=form) as resp:
        assert resp.status == 200
    async with client.post(f"/ussd/africastalking/{secret}x", data=form) as resp:
        assert resp.status == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any("/ussd/africastalking/***" in line for line in lines), lines
    assert not any(secret in line for line in lines)


# --- start-up ---------------------------------------------------------------------------------


def _serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    clean.update({"GATEWAY_DB": str(tmp_path / "g.db"), "GATEWAY_PORT": "1", **env})
    return subprocess.run(
        [sys.executable, "run.py", "serve"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GATEWAY_HOST": "0.0.0.0"}, "refusing to listen on 0.0.0.0"),  # noqa: S104
        ({"GATEWAY_SMS_PROVIDER": "kavenegar"}, "GATEWAY_KAVENEGAR_API_KEY is not set"),
        ({"GATEWAY_SMS_PROVIDER": "smsir", "GATEWAY_SMSIR_API_KEY": "k"}, "GATEWAY_SMSIR_SENDER"),
        ({"GATEWAY_SMS_PROVIDER": "nope"}, "GATEWAY_SMS_PROVIDER"),
        ({"GATEWAY_USSD_SECRETS": "json=weak-value"}, "GATEWAY_USSD_SECRETS"),
    ],
)
def test_serve_refuses_a_bad_configuration_in_one_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    done = _serve(tmp_path, **env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert expected in line
    assert "weak-value" not in line
