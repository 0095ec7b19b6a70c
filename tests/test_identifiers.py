"""Seed 003's identifiers: a foreign national's ID (12 digits by default, a setting) and the
10-digit insurance number, through the registration API, USSD tracking and reset, and the SMS
keywords: valid, malformed, and someone else's (the same answer as nothing at all)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gateway.settings import Settings
from sessions.records import Registration
from tests.api_helpers import bearer, call, storage
from tests.conftest import GatewayFactory
from tests.phone import Phone, is_end
from tests.seed import ME, NID, OTHER, add_registration, sms_to
from tests.test_inbound_sms import KAVENEGAR, inbound

FOREIGN = "123456789012"
FOREIGN_FA = "۱۲۳۴۵۶۷۸۹۰۱۲"
INSURANCE = "9876543210"
ACTIVE = "حساب کاربری شما فعال است"
NOT_FOUND = "ثبت‌نامی با این شناسه برای شماره شما یافت نشد"
RESET_DONE = "رمز موقت و کد رهگیری پیامک می‌شود"


def person(**changes: Any) -> dict[str, Any]:
    return {"mobile": ME, "status": "activated", **changes}


async def test_the_registration_api_takes_both_identifiers(gateway: GatewayFactory) -> None:
    client = await gateway()
    headers = await bearer(client, "records")
    status, body = await call(
        client, "PUT", f"/v1/registrations/{NID}", headers, person(insurance_number="۹۸۷۶۵۴۳۲۱۰")
    )
    assert status == 201
    assert (body["insurance_number"], body["foreign_id"]) == (INSURANCE, "")
    status, body = await call(client, "PUT", f"/v1/registrations/{FOREIGN_FA}", headers, person())
    assert status == 201
    assert (body["national_id"], body["foreign_id"]) == (FOREIGN, FOREIGN)
    status, body = await call(
        client, "PUT", f"/v1/registrations/{FOREIGN}", headers, person(foreign_id=FOREIGN)
    )
    assert status == 200
    assert (await call(client, "GET", f"/v1/registrations/{FOREIGN}", headers))[0] == 200


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        (NID, person(insurance_number="12345"), "invalid_insurance_number", "insurance_number"),
        (
            NID,
            person(insurance_number="12345abcde"),
            "invalid_insurance_number",
            "insurance_number",
        ),
        (NID, person(foreign_id=FOREIGN), "invalid_foreign_id", "foreign_id"),
        (FOREIGN, person(foreign_id="123456789013"), "invalid_foreign_id", "foreign_id"),
        ("12345678901", person(), "invalid_national_id", "national_id"),
    ],
)
async def test_a_malformed_identifier_is_a_400_naming_it(
    gateway: GatewayFactory, path: str, body: dict[str, Any], code: str, field: str
) -> None:
    client = await gateway()
    headers = await bearer(client, "records")
    status, answer = await call(client, "PUT", f"/v1/registrations/{path}", headers, body)
    assert status == 400
    assert (answer["code"], answer["field"]) == (code, field)
    assert await storage(client).find_records(Registration, {}) == []


async def _track(phone: Phone, choice: str, typed: str, menu: str = "1") -> str:
    await phone.dial()
    await phone.send(menu)
    await phone.send(choice)
    return await phone.send(typed)


async def test_ussd_tracking_by_foreign_id_and_by_insurance_number(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    await add_registration(client, FOREIGN, foreign_id=FOREIGN)
    await add_registration(client, NID, mobile=OTHER, insurance_number=INSURANCE)
    assert ACTIVE in await _track(Phone(client), "1", FOREIGN_FA)
    assert ACTIVE in await _track(Phone(client, OTHER), "2", INSURANCE)
    # Someone else's identifier answers exactly as one that does not exist.
    theirs = await _track(Phone(client), "2", INSURANCE)
    nothing = await _track(Phone(client), "2", "1111111111")
    assert NOT_FOUND in theirs
    assert theirs == nothing
    assert NOT_FOUND in await _track(Phone(client, OTHER), "1", FOREIGN)


async def test_ussd_names_what_is_malformed(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway())
    reply = await _track(phone, "1", "12345")
    assert "شناسه اتباع خارجی باید ۱۲ رقم باشد." in reply
    assert not is_end(reply)
    assert "۹۸" not in reply
    reply = await _track(Phone(phone.client, OTHER), "2", "123")
    assert "شماره بیمه باید ۱۰ رقم باشد." in reply
    assert "۹۸" not in reply


async def test_ussd_reset_by_insurance_number_goes_to_the_registered_number_only(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    await add_registration(client, NID, insurance_number=INSURANCE)
    assert RESET_DONE in await _track(Phone(client, OTHER), "2", INSURANCE, menu="2")
    assert await sms_to(client, OTHER, "password_reset") == []
    assert RESET_DONE in await _track(Phone(client), "2", INSURANCE, menu="2")
    assert len(await sms_to(client, ME, "password_reset")) == 1


async def test_sms_keywords_take_every_identifier(gateway: GatewayFactory) -> None:
    client = await gateway(**KAVENEGAR)
    await add_registration(client, FOREIGN, foreign_id=FOREIGN, status="in_review")
    await add_registration(client, NID, status="activated", insurance_number=INSURANCE)
    await inbound(client, f"پیگیری {FOREIGN_FA}")
    await inbound(client, f"REG {INSURANCE}")
    await inbound(client, f"رمز {INSURANCE}")
    templates = [r["template_id"] for r in await sms_to(client, ME)]
    assert templates[-3:] == [
        "registration_received",
        "reply_registration_status",
        "password_reset",
    ]
    await inbound(client, "REG 123")
    [bad] = await sms_to(client, ME, "reply_invalid_identifier")
    assert "foreign national ID 12" in bad["text"]
    await inbound(client, f"پیگیری {INSURANCE}", sender="989351112233")
    [other] = await sms_to(client, OTHER)
    assert other["template_id"] == "reply_not_found"


async def test_the_foreign_id_length_is_a_setting(gateway: GatewayFactory) -> None:
    client = await gateway(foreign_id_digits=14)
    headers = await bearer(client, "records")
    assert (await call(client, "PUT", "/v1/registrations/12345678901234", headers, person()))[
        0
    ] == 201
    reply = await _track(Phone(client), "1", FOREIGN)
    assert "شناسه اتباع خارجی باید ۱۴ رقم باشد." in reply
    assert ACTIVE in await _track(Phone(client), "1", "12345678901234")


@pytest.mark.parametrize("value", [10, 5, 21])
def test_a_foreign_id_length_that_could_be_confused_is_refused(value: int) -> None:
    with pytest.raises(ValidationError, match="foreign_id_digits"):
        Settings(foreign_id_digits=value, _env_file=None)
