"""Request and answer models of the `/v1` record routes; they also describe the API for OpenAPI.

Every text a caller sends is normalised here (digits, Arabic ي/ك, invisible characters), and every
identifier goes through the domain validators, so a handler only ever sees canonical values.
Request models are strict (no silent type coercion) and refuse unknown fields.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from sessions import validators
from sessions.normalize import ZWNJ, digits_only, normalize, tidy
from sessions.records import Complaint, Loan, Registration
from sessions.services.complaints import ANSWER_MAX
from sessions.services.registration import NAME_MAX
from templates_sms import parse_send_at

# The SMS templates' limits: a longer value could not be rendered into the notification.
BANK_MAX = 30
BRANCH_MAX = 24
PASSWORD_MAX = 128
AMOUNT_MAX = 2**63 - 1  # SQLite's INTEGER range

RegistrationStatus = Literal["in_review", "activated", "approved_visit_branch", "identity_mismatch"]
LoanStage = Literal[
    "submitted", "agency_review", "bank_review", "bank_no_credit", "approved", "paid", "rejected"
]
ComplaintStatus = Literal["open", "in_review", "answered", "closed"]
ComplaintSubject = Literal["loan_rejected", "workshop_not_found", "registration", "other"]
Gender = Literal["male", "female", "unknown"]

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def sms_text(max_len: int) -> Callable[[str], str]:
    """A validator for text that ends up in an SMS: normalised, printable, at most `max_len`."""

    def check(value: str) -> str:
        text = tidy(value)
        for ch in text:
            if ch == ZWNJ:
                continue
            # What the SMS renderer refuses: control, format, private-use and unassigned
            # characters, and anything outside the BMP (two UCS-2 units would break the budget).
            if ord(ch) > 0xFFFF or unicodedata.category(ch) in _REFUSED_CATEGORIES:
                raise ValueError(f"character U+{ord(ch):04X} is not allowed")
        if len(text) > max_len:
            raise ValueError(f"at most {max_len} characters ({len(text)} given)")
        return text

    return check


def _password(value: str) -> str:
    return normalize(value)


NationalId = Annotated[
    str,
    AfterValidator(validators.national_id),
    Field(
        description="National ID (کد ملی): 10 digits with a valid check digit; Persian or "
        "Arabic-Indic digits are accepted.",
        examples=["0012345679"],
    ),
]
Mobile = Annotated[
    str,
    AfterValidator(validators.mobile),
    Field(
        description="Mobile number: 09…, 9…, 989…, +989… or 00989…, in any digit script; "
        "stored and answered as 09XXXXXXXXX.",
        examples=["09121234567"],
    ),
]
PersonName = Annotated[
    str,
    AfterValidator(sms_text(NAME_MAX)),
    Field(json_schema_extra={"maxLength": NAME_MAX}),
]

_STRICT = ConfigDict(strict=True, extra="forbid")


class ErrorOut(BaseModel):
    """Every error answer: a stable `code`, a human `message`, and the offending `field`."""

    code: str = Field(description="Stable error code.", examples=["invalid_field"])
    message: str = Field(description="What is wrong, in English.")
    field: str | None = Field(None, description="The field at fault.", examples=["status"])


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


Timestamp = Annotated[datetime, Field(description="ISO 8601, UTC.")]


# --- registrations ---------------------------------------------------------------------------


class RegistrationIn(BaseModel):
    """The body of `PUT /v1/registrations/{national_id}`: the registration as it is now.

    A change of `status` (or of `mobile`) sends the status's SMS to the mobile.
    """

    model_config = _STRICT

    mobile: Mobile
    status: RegistrationStatus = Field(
        description="in_review: received; activated: account active; approved_visit_branch: "
        "approved, activate in person at a branch; identity_mismatch: not matching the civil "
        "registry.",
        examples=["activated"],
    )
    first_name: PersonName = Field(
        "", description="First name (≤ 40 characters).", examples=["علی"]
    )
    last_name: PersonName = Field(
        "", description="Last name (≤ 40 characters).", examples=["رضایی"]
    )
    gender: Gender = Field(
        "unknown",
        description="Chooses the greeting (جناب آقای / سرکار خانم); unknown greets neutrally.",
        examples=["male"],
    )


class RegistrationOut(BaseModel):
    national_id: str = Field(examples=["0012345679"])
    mobile: str = Field(examples=["09121234567"])
    status: RegistrationStatus
    first_name: str
    last_name: str
    gender: Gender
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, record: Registration) -> RegistrationOut:
        return cls.model_validate(
            {
                "national_id": record.national_id,
                "mobile": record.mobile,
                "status": record.status,
                "first_name": record.first_name,
                "last_name": record.last_name,
                "gender": record.gender,
                "created_at": _at(record.created_at),
                "updated_at": _at(record.updated_at),
            }
        )


# --- loans -----------------------------------------------------------------------------------


class LoanIn(BaseModel):
    """The body of `PUT /v1/loans/{tracking_code}`: the application as it is now.

    A change of `stage` sends the applicant an SMS naming the stage, bank and branch.
    """

    model_config = _STRICT

    national_id: NationalId
    mobile: Mobile
    stage: LoanStage = Field(
        description="submitted; agency_review: with the executive agency; bank_review: with the "
        "agent bank; bank_no_credit: the bank has no credit (change bank or branch); approved; "
        "paid; rejected (the applicant may object).",
        examples=["bank_review"],
    )
    bank: Annotated[str, AfterValidator(sms_text(BANK_MAX))] = Field(
        "",
        description="The agent bank's name as customers know it (≤ 30 characters).",
        examples=["بانک ملت"],
        json_schema_extra={"maxLength": BANK_MAX},
    )
    branch: Annotated[str, AfterValidator(sms_text(BRANCH_MAX))] = Field(
        "",
        description="The branch (≤ 24 characters).",
        examples=["ونک"],
        json_schema_extra={"maxLength": BRANCH_MAX},
    )
    amount: int = Field(
        0, ge=0, le=AMOUNT_MAX, description="Amount in rials.", examples=[500_000_000]
    )


class LoanOut(BaseModel):
    tracking_code: str = Field(examples=["12345678"])
    national_id: str
    mobile: str
    stage: LoanStage
    bank: str
    branch: str
    amount: int
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, record: Loan) -> LoanOut:
        return cls.model_validate(
            {
                "tracking_code": record.tracking_code,
                "national_id": record.national_id,
                "mobile": record.mobile,
                "stage": record.stage,
                "bank": record.bank,
                "branch": record.branch,
                "amount": record.amount,
                "created_at": _at(record.created_at),
                "updated_at": _at(record.updated_at),
            }
        )


# --- complaints ------------------------------------------------------------------------------


class ComplaintPatch(BaseModel):
    """The body of `PATCH /v1/complaints/{ticket}`: at least one of the two fields.

    A change of `status` sends the complainant an SMS (with the answer, once answered or closed).
    """

    model_config = _STRICT

    status: ComplaintStatus | None = Field(None, examples=["answered"])
    answer: Annotated[str, AfterValidator(sms_text(ANSWER_MAX))] | None = Field(
        None,
        description="A short answer for the complainant (≤ 100 characters); an empty string "
        "clears it.",
        examples=["درخواست شما بررسی و تأیید شد."],
        json_schema_extra={"maxLength": ANSWER_MAX},
    )


class ComplaintOut(BaseModel):
    ticket: str = Field(examples=["12345678"])
    msisdn: str = Field(description="The complainant's mobile.", examples=["09121234567"])
    subject: ComplaintSubject
    status: ComplaintStatus
    workshop_code: str = Field(description="Workshop code, or empty when not in the list.")
    loan_code: str = Field(description="The loan's tracking code for an objection, or empty.")
    body: str
    channel: str = Field(description="Where it was filed.", examples=["ussd"])
    answer: str
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, record: Complaint) -> ComplaintOut:
        return cls.model_validate(
            {
                "ticket": record.ticket,
                "msisdn": record.msisdn,
                "subject": record.subject,
                "status": record.status,
                "workshop_code": record.workshop_code,
                "loan_code": record.loan_code,
                "body": record.body,
                "channel": record.channel,
                "answer": record.answer,
                "created_at": _at(record.created_at),
                "updated_at": _at(record.updated_at),
            }
        )


def _digits(value: object) -> object:
    return digits_only(value) if isinstance(value, str) else value


def _date_from(value: object) -> object:
    return parse_send_at(value) if isinstance(value, str) else value


def _date_to(value: object) -> object:
    """A bare date as `to` includes that whole day: the filter is `created_at < to`."""
    if not isinstance(value, str):
        return value
    at = parse_send_at(value)
    return at + timedelta(days=1) if _DATE_ONLY.fullmatch(normalize(value)) else at


_DATE_ONLY = re.compile(r"[0-9]{4}[/-][0-9]{1,2}[/-][0-9]{1,2}")
# Parsed into a datetime, but what a caller sends is a string in one of two calendars.
_DATE_SCHEMA = WithJsonSchema(
    {"type": "string", "examples": ["1404/08/30", "2025-11-21T00:00:00+03:30"]}
)


class ComplaintQuery(BaseModel):
    """The query of `GET /v1/complaints`; results are ordered by creation, oldest first."""

    model_config = ConfigDict(extra="forbid")

    status: ComplaintStatus | None = Field(None, description="Only tickets in this status.")
    created_from: Annotated[datetime | None, BeforeValidator(_date_from), _DATE_SCHEMA] = Field(
        None,
        alias="from",
        description="Created at or after this time: ISO 8601 (Tehran time without an "
        "offset) or a Jalali date such as 1404/08/30 or 1404/08/30 14:00.",
    )
    created_to: Annotated[datetime | None, BeforeValidator(_date_to), _DATE_SCHEMA] = Field(
        None,
        alias="to",
        description="Created before this time, in the same forms as `from`; a bare date "
        "includes that whole day.",
    )
    limit: Annotated[int, BeforeValidator(_digits)] = Field(
        50, ge=1, le=200, description="Page size."
    )
    cursor: str | None = Field(
        None, max_length=200, description="`next_cursor` of the previous page."
    )


class ComplaintPage(BaseModel):
    items: list[ComplaintOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


# --- password resets -------------------------------------------------------------------------


class VerifyIn(BaseModel):
    """The body of `POST /v1/password-resets/verify`."""

    model_config = _STRICT

    national_id: NationalId
    password: Annotated[str, AfterValidator(_password)] = Field(
        min_length=1,
        max_length=PASSWORD_MAX,
        description="The temporary password the citizen received by SMS.",
        examples=["Xk7mPq2Rtz"],
    )


class VerifyOut(BaseModel):
    valid: bool = Field(
        description="True only for the latest unexpired reset of this national ID; five wrong "
        "passwords spend a reset."
    )
