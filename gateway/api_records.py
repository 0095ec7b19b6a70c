"""`/v1/registrations/{national_id}` and `/v1/loans/{tracking_code}`: the portals keep these
records current; a change of status or stage notifies the citizen by SMS (scope `records`)."""

from __future__ import annotations

from aiohttp import web

from gateway import edge
from gateway.api_common import answer, path_value, read_model, rendering_as
from gateway.api_models import LoanIn, LoanOut, RegistrationIn, RegistrationOut
from gateway.auth import API_KEY_NAME, require_scope
from gateway.errors import ApiError
from gateway.keys import DEPS, STORAGE
from sessions import validators
from sessions.records import Loan, Registration
from sessions.services import loans, registration


def _created_or_updated(created: bool) -> int:
    return 201 if created else 200


@require_scope("records")
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
    return answer(RegistrationOut.of(stored), _created_or_updated(created))


@require_scope("records")
async def get_registration(request: web.Request) -> web.StreamResponse:
    national_id = path_value(request, "national_id", validators.national_id)
    record = await request.app[STORAGE].get_registration(national_id)
    if record is None:
        raise ApiError(404, "not_found", "no registration with this national ID")
    return answer(RegistrationOut.of(record))


@require_scope("records")
async def put_loan(request: web.Request) -> web.StreamResponse:
    tracking_code = path_value(request, "tracking_code", validators.tracking_code)
    body = await read_model(request, LoanIn)
    record = Loan(
        tracking_code=tracking_code,
        national_id=body.national_id,
        mobile=body.mobile,
        stage=body.stage,
        bank=body.bank,
        branch=body.branch,
        amount=body.amount,
    )
    with rendering_as():
        stored, created = await loans.put(request.app[DEPS], record, source=request[API_KEY_NAME])
    return answer(LoanOut.of(stored), _created_or_updated(created))


@require_scope("records")
async def get_loan(request: web.Request) -> web.StreamResponse:
    tracking_code = path_value(request, "tracking_code", validators.tracking_code)
    record = await request.app[STORAGE].get_loan(tracking_code)
    if record is None:
        raise ApiError(404, "not_found", "no loan application with this tracking code")
    return answer(LoanOut.of(record))


def setup(app: web.Application) -> None:
    edge.add(app, "PUT", "/v1/registrations/{national_id}", put_registration)
    edge.add(app, "GET", "/v1/registrations/{national_id}", get_registration)
    edge.add(app, "PUT", "/v1/loans/{tracking_code}", put_loan)
    edge.add(app, "GET", "/v1/loans/{tracking_code}", get_loan)
