"""`/v1/loans/{tracking_code}`: the portals keep loan applications current; a change of stage
notifies the applicant by SMS (scope `records`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from aiohttp import web
from pydantic import AfterValidator, BaseModel, Field

from gateway.api.common import answer, path_value, read_model, rendering_as
from gateway.api.fields import (
    STRICT,
    Mobile,
    NationalId,
    Timestamp,
    at,
    english_text,
    sms_text,
)
from gateway.api.operations import Op
from gateway.api.registrations import created_or_updated
from gateway.appkeys import DEPS, STORAGE
from gateway.web import edge
from gateway.web.auth import API_KEY_NAME, require_scope
from gateway.web.errors import ApiError
from sessions import validators
from sessions.records import Loan
from sessions.services import loans

SCOPE = "records"

BANK_MAX = 30
BRANCH_MAX = 24
CITY_MAX = 24
AMOUNT_MAX = 2**63 - 1  # SQLite's INTEGER range
LoanStage = Literal[
    "submitted", "agency_review", "bank_review", "bank_no_credit", "approved", "paid", "rejected"
]


class LoanIn(BaseModel):
    """The body of `PUT /v1/loans/{tracking_code}`: the application as it is now.

    A change of `stage` sends the applicant an SMS naming the stage, bank and branch.
    """

    model_config = STRICT

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
    bank_en: Annotated[str, AfterValidator(english_text(BANK_MAX))] = Field(
        "",
        description="The bank's English name, for English screens and SMS (≤ 30 characters, no "
        "Persian letters); without it they print the Persian name on a line of its own.",
        examples=["Bank Mellat"],
        json_schema_extra={"maxLength": BANK_MAX},
    )
    branch_en: Annotated[str, AfterValidator(english_text(BRANCH_MAX))] = Field(
        "",
        description="The branch's English name (≤ 24 characters, no Persian letters).",
        examples=["Vanak branch"],
        json_schema_extra={"maxLength": BRANCH_MAX},
    )
    city: Annotated[str, AfterValidator(sms_text(CITY_MAX))] = Field(
        "",
        description="The applicant's city, as in `/v1/branch-queues`: with no credit at the "
        "agent bank, the applicant is sent the three branches there with the shortest queues.",
        examples=["تهران"],
        json_schema_extra={"maxLength": CITY_MAX},
    )


class LoanOut(BaseModel):
    tracking_code: str = Field(examples=["1403000012345"])
    national_id: str
    mobile: str
    stage: LoanStage
    bank: str
    branch: str
    amount: int
    bank_en: str
    branch_en: str
    city: str
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
                "bank_en": record.bank_en,
                "branch_en": record.branch_en,
                "city": record.city,
                "created_at": at(record.created_at),
                "updated_at": at(record.updated_at),
            }
        )


def _code_of(request: web.Request) -> Callable[[str], str]:
    """The portal's code format, of the length the operator set (GATEWAY_LOAN_CODE_DIGITS)."""
    lengths = request.app[DEPS].policy.loan_code_digits
    return lambda raw: validators.loan_code(raw, lengths)


@require_scope(SCOPE)
async def put_loan(request: web.Request) -> web.StreamResponse:
    tracking_code = path_value(request, "tracking_code", _code_of(request))
    body = await read_model(request, LoanIn)
    record = Loan(
        tracking_code=tracking_code,
        national_id=body.national_id,
        mobile=body.mobile,
        stage=body.stage,
        bank=body.bank,
        branch=body.branch,
        amount=body.amount,
        bank_en=body.bank_en,
        branch_en=body.branch_en,
        city=body.city,
    )
    with rendering_as():
        stored, created = await loans.put(request.app[DEPS], record, source=request[API_KEY_NAME])
    return answer(LoanOut.of(stored), created_or_updated(created))


@require_scope(SCOPE)
async def get_loan(request: web.Request) -> web.StreamResponse:
    tracking_code = path_value(request, "tracking_code", _code_of(request))
    record = await request.app[STORAGE].get_record(Loan, tracking_code)
    if record is None:
        raise ApiError(404, "not_found", "no loan application with this tracking code")
    return answer(LoanOut.of(record))


CODE = {
    "tracking_code": (
        "The portal's tracking code: 6 to 20 digits by default (GATEWAY_LOAN_CODE_DIGITS), "
        "in any script",
        r"^[0-9]{6,20}$",
    )
}
OPERATIONS = (
    Op("put", "/v1/loans/{tracking_code}", "Create or update a loan application", "records",
       response=LoanOut, body=LoanIn, scope=SCOPE, path_params=CODE,
       description="201 when created. A change of stage notifies the applicant by SMS.",
       errors={400: ("invalid_tracking_code", "invalid_national_id", "invalid_mobile")}),
    Op("get", "/v1/loans/{tracking_code}", "Read a loan application", "records",
       response=LoanOut, scope=SCOPE, path_params=CODE,
       errors={400: ("invalid_tracking_code",), 404: ("not_found",)}),
)  # fmt: skip


def setup(app: web.Application) -> None:
    edge.add(app, "PUT", "/v1/loans/{tracking_code}", put_loan)
    edge.add(app, "GET", "/v1/loans/{tracking_code}", get_loan)
