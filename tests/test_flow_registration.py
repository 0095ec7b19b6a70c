"""Flow 1, registration tracking, end to end through the Africa's Talking dialect."""

from __future__ import annotations

import pytest

from tests.conftest import FakeClock, GatewayFactory
from tests.phone import Phone, is_end, screen
from tests.seed import ME_INTL, NID, NID2, OTHER, add_registration

EXPECTED = {
    "in_review": "ثبت‌نام شما در دست بررسی است",
    "activated": "حساب کاربری شما فعال است",
    "approved_visit_branch": "به نزدیک‌ترین شعبه بروید",
    "identity_mismatch": "با پایگاه مرجع مطابقت ندارد",
}
NOT_FOUND = "ثبت‌نامی با این شناسه برای شماره شما یافت نشد"


async def _track(phone: Phone, nid: str) -> str:
    await phone.dial()
    await phone.send("1")
    pages = [await phone.send(nid)]
    while "۹۸ بیشتر" in pages[-1]:
        pages.append(await phone.send("98"))
    return "\n".join(pages)


@pytest.mark.parametrize("status", list(EXPECTED))
async def test_status_is_shown_to_the_registered_number(
    gateway: GatewayFactory, status: str
) -> None:
    client = await gateway()
    await add_registration(client, status=status)
    reply = await _track(Phone(client, ME_INTL), NID)
    assert is_end(reply.rsplit("\n", 1)[-1]) or is_end(reply)
    assert EXPECTED[status] in reply
    assert "۴۸ ساعت" not in reply


async def test_persian_digits_and_spaces_in_the_national_id(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    reply = await _track(Phone(client), "۰۰۱ ۳۵۴ ۲۴۱۹")
    assert EXPECTED["activated"] in reply


async def test_in_review_after_48_hours_gets_the_advice(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    await add_registration(client, status="in_review")
    clock.advance(48 * 3600 + 60)
    reply = await _track(Phone(client), NID)
    assert EXPECTED["in_review"] in reply
    assert "اگر تا ۴۸ ساعت پیامک نگرفتید، دوباره ثبت‌نام کنید" in reply


async def test_another_number_sees_the_same_as_nothing(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    theirs = await _track(Phone(client, OTHER), NID)
    nobody = await _track(Phone(client, OTHER), NID2)
    assert screen(theirs) == screen(nobody)
    assert NOT_FOUND in theirs
    assert "فعال" not in theirs


async def test_bad_checksum_is_asked_again_then_ends(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway())
    await phone.dial()
    await phone.send("1")
    first = await phone.send("0013542418")
    assert not is_end(first)
    assert "کد ملی نامعتبر است" in first
    assert "۱ شناسه اتباع خارجی\n۲ شماره بیمه" in first  # the error replaces the prompt
    assert not is_end(await phone.send("12345"))
    last = await phone.send("1111111111")
    assert is_end(last)


async def test_english_session(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="approved_visit_branch")
    phone = Phone(client)
    await phone.dial()
    await phone.send("9")
    assert "Enter your 10-digit national ID" in await phone.send("1")
    reply = await phone.send(NID)
    assert "Your registration is approved" in reply


async def test_probing_national_ids_is_limited_per_number(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    phone = Phone(client, OTHER)
    for _ in range(30):
        assert NOT_FOUND in await _track(phone, NID2)
    reply = await _track(phone, NID)
    assert "بیش از حد مجاز" in reply
    # the owner's own number is not affected by someone else's probing
    assert EXPECTED["activated"] in await _track(Phone(client), NID)
