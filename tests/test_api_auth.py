"""Every `/v1` record route needs a valid key (401) with the route's scope (403)."""

from __future__ import annotations

import pytest

from tests.api_helpers import bearer, call, sms, storage
from tests.conftest import GatewayFactory

ROUTES = [
    ("PUT", "/v1/registrations/0012345679", "records"),
    ("GET", "/v1/registrations/0012345679", "records"),
    ("PUT", "/v1/loans/12345678", "records"),
    ("GET", "/v1/loans/12345678", "records"),
    ("GET", "/v1/complaints", "complaints"),
    ("GET", "/v1/complaints/12345678", "complaints"),
    ("PATCH", "/v1/complaints/12345678", "complaints"),
    ("POST", "/v1/password-resets/verify", "resets"),
]
BODY = {"mobile": "09121234567", "status": "activated"}


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer dgk_000000000000_" + "A" * 43,
    ],
)
async def test_without_a_valid_key_is_401(
    gateway: GatewayFactory, method: str, path: str, scope: str, header: str | None
) -> None:
    client = await gateway()
    headers = {"Authorization": header} if header is not None else {}
    status, answer = await call(client, method, path, headers, BODY)
    assert (status, answer["code"]) == (401, "unauthorized")
    assert await sms(client) == []


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES)
async def test_a_key_without_the_scope_is_403(
    gateway: GatewayFactory, method: str, path: str, scope: str
) -> None:
    client = await gateway()
    others = [s for s in ("records", "complaints", "resets", "notify") if s != scope]
    status, answer = await call(client, method, path, await bearer(client, *others), BODY)
    assert (status, answer["code"]) == (403, "forbidden")
    assert scope in answer["message"]
    assert await sms(client) == []


async def test_a_tampered_secret_is_401(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "records")
    tampered = {"Authorization": auth["Authorization"][:-1] + "x"}
    if tampered == auth:
        tampered = {"Authorization": auth["Authorization"][:-1] + "y"}
    status, _ = await call(client, "GET", "/v1/registrations/0012345679", tampered)
    assert status == 401


async def test_a_revoked_key_is_401_on_every_backend(gateway: GatewayFactory) -> None:
    client = await gateway()
    headers = await bearer(client, "complaints")
    assert (await call(client, "GET", "/v1/complaints", headers))[0] == 200
    key_id = headers["Authorization"].split("_")[1]
    assert await storage(client).revoke_api_key(key_id)
    status, body = await call(client, "GET", "/v1/complaints", headers)
    assert (status, body["code"]) == (401, "unauthorized")
    assert not await storage(client).revoke_api_key("000000000000")
