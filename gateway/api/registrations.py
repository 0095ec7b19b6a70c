"""`/v1/registrations/{national_id}`: the portals keep registrations current; a change of status
sends the citizen its SMS (scope `records`)."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

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
                "created_at": at(record.created_at),
                "updated_at": at(record.updated_at),
            }
        )


def created_or_updated(created: bool) -> int:
    return 201 if created else 200


@require_scope(SCOPE)
async def put_registration(request: web.Request) -> web.StreamResponse:
    national_id = path_value(request, "national_id", validators.national_id)
    body = await read_model(request, RegistrationIn)
    record = Registration(
        national_id=national_id,
        mobile=body.mobile,
        status=body.status,
        first_name=body.first_name,
        last_name=body.last_name,
        gender=body.gender,
    )
    with rendering_as(name="last_name"):
        stored, created = await registration.put(
            request.app[DEPS], record, source=request[API_KEY_NAME]
        )
    return answer(RegistrationOut.of(stored), created_or_updated(created))


@require_scope(SCOPE)
async def get_registration(request: web.Request) -> web.StreamResponse:
    national_id = path_value(request, "national_id", validators.national_id)
    record = await request.app[STORAGE].get_record(Registration, national_id)
    if record is None:
        raise ApiError(404, "not_found", "no registration with this national ID")
    return answer(RegistrationOut.of(record))


NID = {"national_id": ("10-digit national ID with its check digit", r"^[0-9]{10}$")}
OPERATIONS = (
    Op("put", "/v1/registrations/{national_id}", "Create or update a registration", "records",
       response=RegistrationOut, body=RegistrationIn, scope=SCOPE, path_params=NID,
       description="201 when created. A change of status enqueues the matching SMS.",
       errors={400: ("invalid_national_id", "invalid_mobile")}),
    Op("get", "/v1/registrations/{national_id}", "Read a registration", "records",
       response=RegistrationOut, scope=SCOPE, path_params=NID,
       errors={400: ("invalid_national_id",), 404: ("not_found",)}),
)  # fmt: skip


def setup(app: web.Application) -> None:
    edge.add(app, "PUT", "/v1/registrations/{national_id}", put_registration)
    edge.add(app, "GET", "/v1/registrations/{national_id}", get_registration)
