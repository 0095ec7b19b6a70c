"""`PUT|GET /v1/registrations/{national_id}` and `PUT|GET /v1/loans/{tracking_code}` over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from sessions.records import Loan, Registration
from tests.api_helpers import Client, bearer, call, sms, storage
from tests.conftest import FakeClock, GatewayFactory

NID = "0012345679"
NID_FA = "۰۰۱۲۳۴۵۶۷۹"
MOBILE = "09121234567"
REG = f"/v1/registrations/{NID}"
LOAN = "/v1/loans/12345678"


def person(**changes: Any) -> dict[str, Any]:
    body = {
        "mobile": MOBILE,
        "status": "activated",
        "first_name": "علی",
        "last_name": "رضایی",
        "gender": "male",
    }
    return {**body, **changes}


def loan(**changes: Any) -> dict[str, Any]:
    body = {
        "national_id": NID,
        "mobile": MOBILE,
        "stage": "bank_review",
        "bank": "بانک ملت",
        "branch": "ونک",
        "amount": 500_000_000,
    }
    return {**body, **changes}


async def records_client(gateway: GatewayFactory) -> tuple[Client, dict[str, str]]:
    client = await gateway()
    return client, await bearer(client, "records")


# --- registrations ---------------------------------------------------------------------------


async def test_registration_created_updated_and_unchanged(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client, auth = await records_client(gateway)
    status, body = await call(client, "PUT", REG, auth, person())
    assert status == 201
    assert body["national_id"] == NID
    assert body["status"] == "activated"
    assert "password" not in str(body)
    [first] = await sms(client, MOBILE)
    assert first["template_id"] == "registration_activated"
    assert "جناب آقای علی رضایی" in first["body"]
    assert first["source"] == "portal"

    clock.advance(60)
    status, again = await call(client, "PUT", REG, auth, person())
    assert status == 200
    assert again == body  # a no-op keeps the old timestamps
    assert len(await sms(client, MOBILE)) == 1

    status, body = await call(client, "PUT", REG, auth, person(first_name="علیرضا"))
    assert status == 200
    assert body["first_name"] == "علیرضا"
    assert len(await sms(client, MOBILE)) == 1  # same status: no SMS

    status, body = await call(client, "PUT", REG, auth, person(status="identity_mismatch"))
    assert status == 200
    assert body["status"] == "identity_mismatch"
    assert body["created_at"] == again["created_at"]
    messages = await sms(client, MOBILE)
    assert [m["template_id"] for m in messages][-1] == "registration_identity_mismatch"
    status, got = await call(client, "GET", REG, auth)
    assert (status, got) == (200, body)


@pytest.mark.parametrize(
    ("status", "template_id", "wording"),
    [
        ("in_review", "registration_received", "درخواست شما با موفقیت ثبت گردید"),
        ("activated", "registration_activated", "حساب کاربری شما فعال گردید"),
        ("approved_visit_branch", "registration_approved_visit_branch", "ثبت نام شما تأیید شد"),
        ("identity_mismatch", "registration_identity_mismatch", "با پایگاه مرجع مطابقت ندارد"),
    ],
)
async def test_each_status_sends_its_seed_sms(
    gateway: GatewayFactory, status: str, template_id: str, wording: str
) -> None:
    client, auth = await records_client(gateway)
    code, _ = await call(client, "PUT", REG, auth, person(status=status, gender="female"))
    assert code == 201
    [message] = await sms(client, MOBILE)
    assert message["template_id"] == template_id
    assert wording in message["body"]


async def test_unknown_gender_greets_neutrally(gateway: GatewayFactory) -> None:
    client, auth = await records_client(gateway)
    await call(client, "PUT", REG, auth, {"mobile": MOBILE, "status": "activated"})
    [message] = await sms(client, MOBILE)
    assert message["body"].startswith("کاربر گرامی")


async def test_persian_digits_and_arabic_letters_are_normalised(gateway: GatewayFactory) -> None:
    client, auth = await records_client(gateway)
    body = person(mobile="+۹۸۹۱۲۱۲۳۴۵۶۷", first_name="علي", last_name="كريمي")
    status, stored = await call(client, "PUT", f"/v1/registrations/{NID_FA}", auth, body)
    assert status == 201
    assert stored["national_id"] == NID
    assert stored["mobile"] == MOBILE
    assert (stored["first_name"], stored["last_name"]) == ("علی", "کریمی")
    status, got = await call(client, "GET", f"/v1/registrations/{NID_FA}", auth)
    assert (status, got) == (200, stored)
    assert len(await sms(client, MOBILE)) == 1


async def test_a_zwnj_in_a_name_is_kept_as_persian_spelling(gateway: GatewayFactory) -> None:
    client, auth = await records_client(gateway)
    body = person(first_name="علی\u200f", last_name="حسن\u200cزاده")
    status, stored = await call(client, "PUT", REG, auth, body)
    assert status == 201
    assert (stored["first_name"], stored["last_name"]) == ("علی", "حسن\u200cزاده")
    [message] = await sms(client, MOBILE)
    assert "حسن\u200cزاده" in message["body"]


LONG_NAME = "ش" * 41


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        ("/v1/registrations/0012345678", person(), "invalid_national_id", "national_id"),
        ("/v1/registrations/abc", person(), "invalid_national_id", "national_id"),
        ("/v1/registrations/1111111111", person(), "invalid_national_id", "national_id"),
        (REG, {"status": "activated"}, "missing_field", "mobile"),
        (REG, {"mobile": MOBILE}, "missing_field", "status"),
        (REG, person(mobile="0812345678"), "invalid_mobile", "mobile"),
        (REG, person(mobile=9121234567), "invalid_field", "mobile"),
        (REG, person(mobile=None), "invalid_field", "mobile"),
        (REG, person(status="deleted"), "invalid_field", "status"),
        (REG, person(status=["activated"]), "invalid_field", "status"),
        (REG, person(gender="x"), "invalid_field", "gender"),
        (REG, person(first_name=LONG_NAME), "invalid_field", "first_name"),
        (REG, person(last_name=LONG_NAME), "invalid_field", "last_name"),
        (REG, person(first_name="a\x00b"), "invalid_field", "first_name"),
        (REG, person(last_name="\U0001f600"), "invalid_field", "last_name"),
        (REG, person(first_name={"x": 1}), "invalid_field", "first_name"),
        (REG, person(age=30), "unknown_field", "age"),
    ],
)
async def test_bad_registration_is_refused_and_nothing_written(
    gateway: GatewayFactory, path: str, body: dict[str, Any], code: str, field: str
) -> None:
    client, auth = await records_client(gateway)
    status, answer = await call(client, "PUT", path, auth, body)
    assert status == 400
    assert (answer["code"], answer["field"]) == (code, field)
    assert answer["message"]
    assert await storage(client).get_record(Registration, NID) is None
    assert await sms(client) == []


async def test_name_of_forty_letters_after_normalising_is_accepted(gateway: GatewayFactory) -> None:
    client, auth = await records_client(gateway)
    name = "ش" * 40 + "ـ" * 5  # kashidas are dropped before the length is counted
    status, body = await call(client, "PUT", REG, auth, person(first_name=name))
    assert status == 201
    assert body["first_name"] == "ش" * 40


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"null",
        b"\xff\xfe{}",
        b'{"mobile": NaN}',
        b'{"amount": ' + b"9" * 5000 + b"}",
    ],
)
async def test_a_body_that_is_not_a_json_object_is_invalid_body(
    gateway: GatewayFactory, raw: bytes
) -> None:
    client, auth = await records_client(gateway)
    status, answer = await call(client, "PUT", REG, auth, raw=raw)
    assert (status, answer["code"]) == (400, "invalid_body")
    status, answer = await call(client, "PUT", LOAN, auth, raw=raw)
    assert (status, answer["code"]) == (400, "invalid_body")
    assert await sms(client) == []


async def test_a_body_nested_too_deep_is_too_deep(gateway: GatewayFactory) -> None:
    client, auth = await records_client(gateway)
    for path in (REG, LOAN):
        status, answer = await call(client, "PUT", path, auth, raw=b"[" * 50_000 + b"]" * 50_000)
        assert (status, answer["code"]) == (400, "too_deep")
    assert await sms(client) == []


async def test_json_under_another_content_type_is_read(gateway: GatewayFactory) -> None:
    client, auth = await records_client(gateway)
    headers = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
    status, _ = await call(
        client, "PUT", REG, headers, raw=b'{"mobile": "09121234567", "status": "in_review"}'
    )
    assert status == 201


async def test_a_body_over_the_size_limit_is_413(gateway: GatewayFactory) -> None:
    client, auth = await records_client(gateway)
    status, answer = await call(client, "PUT", REG, auth, raw=b" " * 300_000)
    assert (status, answer["code"]) == (413, "body_too_large")


async def test_unknown_registration_is_404(gateway: GatewayFactory) -> None:
    client, auth = await records_client(gateway)
    status, answer = await call(client, "GET", REG, auth)
    assert (status, answer["code"]) == (404, "not_found")


# --- loans -----------------------------------------------------------------------------------


async def test_loan_created_then_stage_change_notifies(gateway: GatewayFactory) -> None:
    client, auth = await records_client(gateway)
    status, body = await call(client, "PUT", LOAN, auth, loan())
    assert status == 201
    assert body["tracking_code"] == "12345678"
    assert body["amount"] == 500_000_000
    [created] = await sms(client, MOBILE)
    assert created["template_id"] == "loan_stage_changed"
    assert "12345678" in created["body"]
    assert "بانک ملت" in created["body"]
    assert "ونک" in created["body"]
    assert "در حال بررسی در بانک عامل" in created["body"]

    status, _ = await call(client, "PUT", LOAN, auth, loan(amount=600_000_000))
    assert status == 200
    assert len(await sms(client, MOBILE)) == 1  # same stage: no SMS

    status, body = await call(client, "PUT", LOAN, auth, loan(stage="bank_no_credit"))
    assert (status, body["stage"]) == (200, "bank_no_credit")
    latest = (await sms(client, MOBILE))[-1]
    assert "بانک یا شعبه را تغییر دهید" in latest["body"]

    status, got = await call(client, "GET", "/v1/loans/۱۲۳۴۵۶۷۸", auth)
    assert (status, got) == (200, body)


async def test_loan_in_persian_digits(gateway: GatewayFactory) -> None:
    client, auth = await records_client(gateway)
    body = loan(national_id=NID_FA, mobile="۰۹۱۲۱۲۳۴۵۶۷", bank="بانك ملي")
    status, stored = await call(client, "PUT", "/v1/loans/۱۲۳۴۵۶۷۸", auth, body)
    assert status == 201
    assert (stored["national_id"], stored["mobile"]) == (NID, MOBILE)
    assert stored["bank"] == "بانک ملی"


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        ("/v1/loans/1234", loan(), "invalid_tracking_code", "tracking_code"),
        ("/v1/loans/abcdefgh", loan(), "invalid_tracking_code", "tracking_code"),
        (LOAN, loan(national_id="0012345678"), "invalid_national_id", "national_id"),
        (LOAN, loan(national_id=12345679), "invalid_field", "national_id"),
        (LOAN, loan(mobile="12345"), "invalid_mobile", "mobile"),
        (LOAN, loan(stage="lost"), "invalid_field", "stage"),
        (LOAN, loan(stage=None), "invalid_field", "stage"),
        (LOAN, loan(bank="ب" * 31), "invalid_field", "bank"),
        (LOAN, loan(branch="ب" * 25), "invalid_field", "branch"),
        (LOAN, loan(amount=-1), "invalid_field", "amount"),
        (LOAN, loan(amount=1.5), "invalid_field", "amount"),
        (LOAN, loan(amount="100"), "invalid_field", "amount"),
        (LOAN, loan(amount=True), "invalid_field", "amount"),
        (LOAN, loan(amount=10**30), "invalid_field", "amount"),
        (LOAN, loan(amount=1e300), "invalid_field", "amount"),
        (LOAN, {"mobile": MOBILE, "stage": "paid"}, "missing_field", "national_id"),
        (LOAN, loan(note="x"), "unknown_field", "note"),
    ],
)
async def test_bad_loan_is_refused_and_nothing_written(
    gateway: GatewayFactory, path: str, body: dict[str, Any], code: str, field: str
) -> None:
    client, auth = await records_client(gateway)
    status, answer = await call(client, "PUT", path, auth, body)
    assert status == 400
    assert (answer["code"], answer["field"]) == (code, field)
    assert await storage(client).get_record(Loan, "12345678") is None
    assert await sms(client) == []


async def test_loan_bank_and_branch_at_their_limits_render(gateway: GatewayFactory) -> None:
    client, auth = await records_client(gateway)
    status, _ = await call(client, "PUT", LOAN, auth, loan(bank="ب" * 30, branch="ش" * 24))
    assert status == 201
    assert len(await sms(client, MOBILE)) == 1


async def test_unknown_loan_is_404(gateway: GatewayFactory) -> None:
    client, auth = await records_client(gateway)
    status, answer = await call(client, "GET", LOAN, auth)
    assert (status, answer["code"]) == (404, "not_found")
