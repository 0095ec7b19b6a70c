"""`POST /v1/password-resets/verify`: only the latest unexpired reset, five wrong tries at most."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sessions.records import Registration
from sessions.services import registration
from sessions.services.reset import ResetOutcome, request_reset
from tests.api_helpers import Client, bearer, call, deps, sms
from tests.conftest import FakeClock, GatewayFactory

NID = "0012345679"
MOBILE = "09121234567"
VERIFY = "/v1/password-resets/verify"
_PASSWORD = re.compile(r"رمز ([A-Za-z0-9]+)")


async def portal(gateway: GatewayFactory) -> tuple[Client, dict[str, str]]:
    client = await gateway()
    await registration.put(deps(client), Registration(NID, MOBILE, "activated"), "test")
    return client, await bearer(client, "resets")


async def reset_password(client: Client) -> str:
    """Requests a reset as the USSD flow does; the password is read off the SMS."""
    outcome = await request_reset(deps(client), NID, MOBILE, "fa", "ussd")
    assert outcome is ResetOutcome.SENT
    last = (await sms(client, MOBILE))[-1]
    assert last["template_id"] == "password_reset"
    match = _PASSWORD.search(last["text"])
    assert match is not None
    return match.group(1)


async def valid(client: Client, auth: dict[str, str], password: str, nid: str = NID) -> bool:
    status, body = await call(
        client, "POST", VERIFY, auth, {"national_id": nid, "password": password}
    )
    assert status == 200
    assert set(body) == {"valid"}
    result: bool = body["valid"]
    return result


async def test_only_the_latest_reset_works(gateway: GatewayFactory) -> None:
    client, auth = await portal(gateway)
    first = await reset_password(client)
    second = await reset_password(client)
    assert first != second
    assert not await valid(client, auth, first)
    assert await valid(client, auth, second)
    assert await valid(client, auth, second)  # checking does not use it up


async def test_national_id_in_persian_digits(gateway: GatewayFactory) -> None:
    client, auth = await portal(gateway)
    password = await reset_password(client)
    assert await valid(client, auth, password, nid="۰۰۱۲۳۴۵۶۷۹")


async def test_expires_after_24_hours(gateway: GatewayFactory, clock: FakeClock) -> None:
    client, auth = await portal(gateway)
    password = await reset_password(client)
    clock.advance(24 * 3600 - 1)
    assert await valid(client, auth, password)
    clock.advance(1)
    assert not await valid(client, auth, password)


async def test_five_wrong_passwords_spend_the_reset(gateway: GatewayFactory) -> None:
    client, auth = await portal(gateway)
    password = await reset_password(client)
    for _ in range(4):
        assert not await valid(client, auth, "Wrong1234")
    assert await valid(client, auth, password)  # four wrong tries leave it usable
    assert not await valid(client, auth, "Wrong1234")
    assert not await valid(client, auth, password)


async def test_unknown_national_id_is_simply_invalid(gateway: GatewayFactory) -> None:
    client, auth = await portal(gateway)
    assert not await valid(client, auth, "Abcdefg23", nid="0023456787")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"national_id": "0012345678", "password": "x"}, "invalid_national_id", "national_id"),
        ({"national_id": "12", "password": "x"}, "invalid_national_id", "national_id"),
        ({"national_id": 12345679, "password": "x"}, "invalid_field", "national_id"),
        ({"password": "x"}, "missing_field", "national_id"),
        ({"national_id": NID}, "missing_field", "password"),
        ({"national_id": NID, "password": 12345678}, "invalid_field", "password"),
        ({"national_id": NID, "password": ""}, "invalid_field", "password"),
        ({"national_id": NID, "password": "x" * 129}, "invalid_field", "password"),
        ({"national_id": NID, "password": "x", "mobile": MOBILE}, "unknown_field", "mobile"),
    ],
)
async def test_bad_input_is_400(
    gateway: GatewayFactory, body: dict[str, Any], code: str, field: str
) -> None:
    client, auth = await portal(gateway)
    status, answer = await call(client, "POST", VERIFY, auth, body)
    assert status == 400
    assert (answer["code"], answer["field"]) == (code, field)


async def test_bad_input_costs_no_attempt(gateway: GatewayFactory) -> None:
    client, auth = await portal(gateway)
    password = await reset_password(client)
    for _ in range(6):
        status, _ = await call(client, "POST", VERIFY, auth, {"national_id": NID, "password": 1})
        assert status == 400
    assert await valid(client, auth, password)
