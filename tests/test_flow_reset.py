"""Flow 2, password reset: one screen whatever matched, secrets by SMS only, latest wins."""

from __future__ import annotations

import re

from sessions.services import reset
from sessions.services.reset import meets_policy
from tests.conftest import GatewayFactory
from tests.phone import Phone, is_end, screen
from tests.seed import ME, ME_INTL, NID, NID2, NID3, OTHER, add_registration, deps, sms_to

DONE = "رمز موقت و کد رهگیری پیامک می‌شود"


async def _reset(phone: Phone, nid: str) -> str:
    await phone.dial()
    await phone.send("2")
    return await phone.send(nid)


def _secrets(body: str) -> tuple[str, str]:
    match = re.search(r"کد رهگیری (\d{8}) رمز ([A-Za-z0-9]+) تخصیص", body)
    assert match, body
    return match.group(1), match.group(2)


async def test_reset_sends_password_and_code_to_the_registered_number_only(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    reply = await _reset(Phone(client, ME_INTL), "۰۰۱۳۵۴۲۴۱۹")
    assert is_end(reply)
    assert DONE in reply
    [sms] = await sms_to(client, ME, "password_reset")
    tracking, password = _secrets(sms["text"])
    assert sms["priority"] == 0
    assert meets_policy(password, NID)
    assert tracking not in reply
    assert password not in reply
    assert "password" not in sms["params"]
    assert await reset.verify(deps(client), NID, password)


async def test_screen_is_the_same_whether_or_not_anything_matched(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    await add_registration(client, nid=NID2, status="in_review")
    matched = await _reset(Phone(client), NID)
    cases = [
        await _reset(Phone(client, OTHER), NID),  # someone else's national ID
        await _reset(Phone(client), NID3),  # no registration at all
        await _reset(Phone(client), NID2),  # registration not activated
    ]
    assert all(screen(c) == screen(matched) for c in cases)
    assert await sms_to(client, OTHER) == []
    assert len(await sms_to(client, ME, "password_reset")) == 1


async def test_only_the_latest_reset_works(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    await _reset(Phone(client), NID)
    await _reset(Phone(client), NID)
    first, second = await sms_to(client, ME, "password_reset")
    old, new = _secrets(first["text"])[1], _secrets(second["text"])[1]
    assert old != new
    assert not await reset.verify(deps(client), NID, old)
    assert await reset.verify(deps(client), NID, new)


async def test_three_resets_a_day_per_national_id(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    for _ in range(3):
        assert DONE in await _reset(Phone(client), NID)
    limited = await _reset(Phone(client), NID)
    assert "بیش از حد مجاز" in limited
    assert len(await sms_to(client, ME, "password_reset")) == 3


async def test_five_resets_an_hour_per_number(gateway: GatewayFactory) -> None:
    client = await gateway()
    nids = ["0013542419", "0067749828", "4608968882", "1234567891", "0010350829"]
    for nid in nids:
        assert DONE in await _reset(Phone(client, OTHER), nid)
    assert "بیش از حد مجاز" in await _reset(Phone(client, OTHER), "0499370899")


async def test_english_reset_sms_is_english(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    phone = Phone(client)
    await phone.dial()
    await phone.send("9")
    await phone.send("2")
    reply = await phone.send(NID)
    assert "temporary password and a tracking code" in reply
    [sms] = await sms_to(client, ME, "password_reset")
    assert sms["lang"] == "en"
    assert "tracking code" in sms["text"]


async def test_a_stranger_cannot_use_up_the_owners_resets(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    for _ in range(5):  # someone else asks for the owner's national ID, again and again
        assert DONE in await _reset(Phone(client, OTHER), NID)
    assert "بیش از حد مجاز" in await _reset(Phone(client, OTHER), NID)  # their own number's limit
    assert DONE in await _reset(Phone(client), NID)  # the owner is not locked out
    assert len(await sms_to(client, ME, "password_reset")) == 1
