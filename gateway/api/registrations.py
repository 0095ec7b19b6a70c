"""`/v1/registrations/{national_id}`: the portals keep registrations current; a change of status
sends the citizen its SMS (scope `records`)."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import AfterValidator, BaseModel, Field

from gateway.api.common import answer, path_value, read_model, rendering_as
from gateway.api.fields import (
    STRICT,
    Mobile,
    PersonName,
    Timestamp,
    at,
)
from gateway.api.operations import Op
from gateway.appkeys import DEPS, STORAGE
from gateway.web import edge
from gateway.web.auth import API_KEY_NAME, require_scope
from gateway.web.errors import ApiError
from sessions import validators
from sessions.normalize import digits_only
from sessions.records import Registration
from sessions.services import registration

SCOPE = "records"

RegistrationStatus = Literal["in_review", "activated", "approved_visit_branch", "identity_mismatch"]
Gender = Literal["male", "female", "unknown"]


class RegistrationIn(BaseModel):
    """The body of `PUT /v1/registrations/{national_id}`: the registration as it is now.

    A change of `status` (or of `mobile`) sends the status's SMS to the mobile.
    """

    model_config = STRICT

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
    foreign_id: Annotated[str, AfterValidator(_digits)] | None = Field(
        None,
        description="A foreign national's identifier (شناسه اتباع خارجی, "
        "GATEWAY_FOREIGN_ID_DIGITS digits, 12 by default): a foreign national's registration is "
        "put under it in the path, in place of a national ID; if sent, it must equal the path.",
        examples=["123456789012"],
    )
    insurance_number: Annotated[str, AfterValidator(validators.insurance_number)] = Field(
        "",
        description="The 10-digit insurance number, when the record has one: tracking and "
        "password recovery accept it too, matched only with the registration's mobile.",
        examples=["1234567890"],
    )


class RegistrationOut(BaseModel):
    national_id: str = Field(examples=["0012345679"])
    mobile: str = Field(examples=["09121234567"])
    status: RegistrationStatus
    first_name: str
    last_name: str
    gender: Gender
    foreign_id: str = Field(description="A foreign national's identifier, or empty.")
    insurance_number: str = Field(description="The insurance number, or empty.")
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
                "foreign_id": record.foreign_id,
                "insurance_number": record.insurance_number,
                "created_at": at(record.created_at),
                "updated_at": at(record.updated_at),
            }
        )


def _digits(value: str) -> str:
    return digits_only(value)


def _identifier(request: web.Request) -> tuple[str, bool]:
    """The path's national ID or, of the operator's foreign-ID length, a foreign national's
    identifier (True)."""
    digits = request.app[DEPS].policy.foreign_id_digits
    raw = digits_only(request.match_info["national_id"])
    if len(raw) == digits:
        return path_value(request, "national_id", lambda v: validators.foreign_id(v, digits)), True
    return path_value(request, "national_id", validators.national_id), False


def created_or_updated(created: bool) -> int:
    return 201 if created else 200


@require_scope(SCOPE)
async def put_registration(request: web.Request) -> web.StreamResponse:
    national_id, foreign = _identifier(request)
    body = await read_model(request, RegistrationIn)
    if body.foreign_id is not None and body.foreign_id != (national_id if foreign else None):
        raise ApiError(
            400,
            "invalid_foreign_id",
            "a foreign national's registration is put under their foreign ID in the path",
            field="foreign_id",
        )
    record = Registration(
        national_id=national_id,
        mobile=body.mobile,
        status=body.status,
        first_name=body.first_name,
        last_name=body.last_name,
        gender=body.gender,
        foreign_id=national_id if foreign else "",
        insurance_number=body.insurance_number,
    )
    with rendering_as(name="last_name"):
        stored, created = await registration.put(
            request.app[DEPS], record, source=request[API_KEY_NAME]
        )
    return answer(RegistrationOut.of(stored), created_or_updated(created))


@require_scope(SCOPE)
async def get_registration(request: web.Request) -> web.StreamResponse:
    national_id, _ = _identifier(request)
    record = await request.app[STORAGE].get_record(Registration, national_id)
    if record is None:
        raise ApiError(404, "not_found", "no registration with this national ID")
    return answer(RegistrationOut.of(record))


NID = {
    "national_id": (
        "10-digit national ID with its check digit, or a foreign national's identifier "
        "(GATEWAY_FOREIGN_ID_DIGITS digits, 12 by default)",
        r"^[0-9]{10,20}$",
    )
}
OPERATIONS = (
    Op("put", "/v1/registrations/{national_id}", "Create or update a registration", "records",
       response=RegistrationOut, body=RegistrationIn, scope=SCOPE, path_params=NID,
       description="201 when created. A change of status enqueues the matching SMS.",
       errors={400: ("invalid_national_id", "invalid_mobile", "invalid_foreign_id",
                     "invalid_insurance_number")}),
    Op("get", "/v1/registrations/{national_id}", "Read a registration", "records",
       response=RegistrationOut, scope=SCOPE, path_params=NID,
       errors={400: ("invalid_national_id", "invalid_foreign_id"), 404: ("not_found",)}),
)  # fmt: skip


def setup(app: web.Application) -> None:
    edge.add(app, "PUT", "/v1/registrations/{national_id}", put_registration)
    edge.add(app, "GET", "/v1/registrations/{national_id}", get_registration)
