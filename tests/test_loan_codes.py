"""Loan tracking codes are the portal's: 6 to 20 digits in any script by default (a setting), the
same on every channel, and a malformed one gets a message saying so on every channel."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gateway.settings import Settings
from tests.api_helpers import bearer, call
from tests.conftest import GatewayFactory
from tests.phone import Phone, is_end
from tests.seed import ME, add_loan, sms_to
from tests.test_inbound_sms import KAVENEGAR, inbound

LONG = "14030000123"  # 11 digits, as the portal gives them
LONG_FA = "۱۴۰۳۰۰۰۰۱۲۳"


def loan() -> dict[str, Any]:
    return {"national_id": "0012345679", "mobile": ME, "stage": "bank_review", "bank": "بانک ملت"}


async def test_the_api_takes_the_portals_codes_in_any_script(gateway: GatewayFactory) -> None:
    client = await gateway()
    headers = await bearer(client, "records")
    status, body = await call(client, "PUT", f"/v1/loans/{LONG_FA}", headers, loan())
    assert status == 201
    assert body["tracking_code"] == LONG
    status, body = await call(client, "GET", f"/v1/loans/{LONG}", headers)
    assert status == 200
    assert body["tracking_code"] == LONG
    for code in ("12345", "1" * 21, "12ab5678"):
        status, body = await call(client, "PUT", f"/v1/loans/{code}", headers, loan())
        assert status == 400, code
        assert body["code"] == "invalid_tracking_code"
        assert body["field"] == "tracking_code"
        assert "6 to 20 digits" in body["message"]


async def test_ussd_finds_a_long_code_and_names_the_length_of_a_bad_one(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    await add_loan(client, LONG, "approved")
    phone = Phone(client)
    await phone.dial()
    await phone.send("3")
    await phone.send("1")
    bad = await phone.send("12ab")
    assert "کد رهگیری باید ۶ تا ۲۰ رقم باشد." in bad
    assert "۹۸" not in bad
    assert not is_end(bad)
    found = await phone.send(LONG_FA)
    assert f"{LONG_FA}: تأیید شده" in found


async def test_sms_answers_a_long_code_and_a_malformed_one_specifically(
    gateway: GatewayFactory,
) -> None:
    client = await gateway(**KAVENEGAR)
    await add_loan(client, LONG, "paid")
    await inbound(client, f"وضعیت {LONG_FA}")
    await inbound(client, "STATUS 123")
    await inbound(client, "وضعیت")
    found = await sms_to(client, ME, "reply_loan_status")
    assert len(found) == 1
    assert LONG in found[0]["text"]
    bad = await sms_to(client, ME, "reply_invalid_loan_code")
    assert [r["lang"] for r in bad] == ["en", "fa"]
    assert "6 to 20 digits" in bad[0]["text"]
    assert "۶ تا ۲۰ رقم" in bad[1]["text"]
    assert await sms_to(client, ME, "keyword_help") == []


async def test_the_length_is_the_operators_setting(gateway: GatewayFactory) -> None:
    client = await gateway(loan_code_digits="8", **KAVENEGAR)
    headers = await bearer(client, "records")
    status, body = await call(client, "PUT", f"/v1/loans/{LONG}", headers, loan())
    assert status == 400
    assert "8 digits" in body["message"]
    assert (await call(client, "PUT", "/v1/loans/12345678", headers, loan()))[0] == 201
    phone = Phone(client)
    await phone.dial()
    await phone.send("3")
    await phone.send("1")
    assert "کد رهگیری باید ۸ رقم باشد." in await phone.send(LONG)
    await inbound(client, f"STATUS {LONG}")
    [bad] = await sms_to(client, ME, "reply_invalid_loan_code")
    assert "has 8 digits" in bad["text"]


@pytest.mark.parametrize("value", ["3-8", "6-40", "20-6", "abc", "6-"])
def test_a_bad_length_setting_is_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="loan_code_digits"):
        Settings(loan_code_digits=value, _env_file=None)


def test_the_length_setting_takes_a_range_or_one_length() -> None:
    assert Settings(loan_code_digits="۸", _env_file=None).loan_code_digits == (8, 8)
    assert Settings(loan_code_digits="6-20", _env_file=None).loan_code_digits == (6, 20)
    assert Settings(_env_file=None).loan_code_digits == (6, 20)
