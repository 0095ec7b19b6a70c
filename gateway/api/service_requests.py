"""`/v1/service-requests`: Kartaban service requests (seed 004) filed for a citizen and moved by
staff along their life cycle, each change of status an SMS to the requester (scope `requests`).

A request belongs to the client that created it (the API key's name): another client's request
answers 404. A citizen's own, filed by USSD or SMS, belongs to no client and is the staff's to
handle: every key with the scope sees it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import AfterValidator, BaseModel, Field

from gateway.api.common import answer, read_model, read_query, rendering_as
from gateway.api.fields import STRICT, Mobile, NationalId, Timestamp, at, sms_text
from gateway.api.operations import Op
from gateway.api.paging import PageQuery, record_page
from gateway.appkeys import DEPS, STORAGE
from gateway.web import edge
from gateway.web.auth import API_KEY_NAME, require_scope
from gateway.web.errors import ApiError
from sessions.normalize import digits_only
from sessions.records import ServiceRequest
from sessions.services import requests
from sessions.services.requests import (
    AMOUNT_MAX,
    CITIZEN,
    DESCRIPTION_MAX,
    NOTE_MAX,
    PAYMENT_REF_MAX,
    Change,
    InvalidTransition,
)

SCOPE = "requests"
NUMBER_MAX = 12

RequestStatus = Literal[
    "submitted", "in_review", "referred", "invoiced", "paid", "delivered", "cancelled"
]
ServiceKey = Literal["labour_law_consultation", "payslip", "payroll", "other"]
DeliveryKind = Literal["phone_consultation", "written_consultation", "calculation_file", "other"]
# The data each status takes; any other field with it is refused.
STATUS_FIELDS: dict[str, tuple[str, ...]] = {
    "invoiced": ("amount", "payment_ref"),
    "delivered": ("delivery",),
    "referred": ("note",),
}
OPTIONAL = ("note",)


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("each service at most once")
    return values


class ServiceRequestIn(BaseModel):
    """The body of `POST /v1/service-requests`: a request filed for a citizen; its number is
    the gateway's, sent to the mobile by SMS."""

    model_config = STRICT

    national_id: NationalId
    mobile: Mobile
    services: Annotated[list[ServiceKey], AfterValidator(_distinct)] = Field(
        min_length=1,
        max_length=4,
        description="One or more: labour_law_consultation, payslip (a payslip under labour "
        "law), payroll (a payroll list), other.",
        examples=[["labour_law_consultation"]],
    )
    description: Annotated[str, AfterValidator(sms_text(DESCRIPTION_MAX))] = Field(
        "",
        description="What the citizen asks, clearly enough for staff to estimate the fee "
        "(≤ 500 characters).",
        examples=["محاسبه سنوات و عیدی پایان کار"],
        json_schema_extra={"maxLength": DESCRIPTION_MAX},
    )
    lang: Literal["fa", "en"] = Field("fa", description="The language of its SMS.")


class ServiceRequestPatch(BaseModel):
    """The body of `PATCH /v1/service-requests/{number}`: the new status and its data.

    submitted → in_review | cancelled; in_review → referred | invoiced | cancelled;
    invoiced → paid | cancelled; paid → delivered. referred, delivered and cancelled are final.
    """

    model_config = STRICT

    status: RequestStatus = Field(examples=["invoiced"])
    amount: int | None = Field(
        None,
        ge=1,
        le=AMOUNT_MAX,
        description="With `invoiced` (required): the fee in rials.",
        examples=[2_500_000],
    )
    payment_ref: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9]+$",
        max_length=PAYMENT_REF_MAX,
        description="With `invoiced` (required): the payment reference the citizen pays with "
        "(Latin letters and digits, ≤ 20).",
        examples=["KB140309"],
    )
    delivery: DeliveryKind | None = Field(
        None,
        description="With `delivered` (required): phone_consultation, written_consultation, "
        "calculation_file or other.",
        examples=["written_consultation"],
    )
    note: Annotated[str, AfterValidator(sms_text(NOTE_MAX))] | None = Field(
        None,
        description="With `referred` (optional): a short note for the citizen (≤ 70).",
        json_schema_extra={"maxLength": NOTE_MAX},
    )


class ServiceRequestOut(BaseModel):
    number: str = Field(examples=["123456789"])
    client: str = Field(description="The API client that filed it; empty: the citizen did.")
    national_id: str = Field(description="Empty for a request filed by USSD.")
    mobile: str = Field(examples=["09121234567"])
    services: list[ServiceKey]
    description: str
    status: RequestStatus
    amount: int = Field(description="The invoice in rials; 0 before one.")
    payment_ref: str
    delivery: DeliveryKind | Literal[""]
    note: str
    channel: str = Field(description="Where it was filed: api, ussd or sms.", examples=["api"])
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, record: ServiceRequest) -> ServiceRequestOut:
        return cls.model_validate(
            {
                "number": record.number,
                "client": record.client,
                "national_id": record.national_id,
                "mobile": record.mobile,
                "services": [s for s in record.services.split(",") if s],
                "description": record.description,
                "status": record.status,
                "amount": record.amount,
                "payment_ref": record.payment_ref,
                "delivery": record.delivery,
                "note": record.note,
                "channel": record.channel,
                "created_at": at(record.created_at),
                "updated_at": at(record.updated_at),
            }
        )


class ServiceRequestQuery(PageQuery):
    """The query of `GET /v1/service-requests`; results are ordered by creation, oldest first."""

    status: RequestStatus | None = Field(None, description="Only requests in this status.")
    mobile: Mobile | None = Field(None, description="Only this requester's.")


class ServiceRequestPage(BaseModel):
    items: list[ServiceRequestOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


_NOT_FOUND = ApiError(404, "not_found", "no service request with this number")


def _number(request: web.Request) -> str:
    """The number from the path in ASCII digits; anything else cannot name a request: 404."""
    number = digits_only(request.match_info["number"])
    if not (number.isascii() and number.isdigit() and len(number) <= NUMBER_MAX):
        raise _NOT_FOUND
    return number


def _visible(record: ServiceRequest | None, client: str) -> ServiceRequest:
    """The caller's own request or a citizen's; another client's is not found, as if absent."""
    if record is None or record.client not in (client, CITIZEN):
        raise _NOT_FOUND
    return record


def _change(body: ServiceRequestPatch) -> Change:
    """The status's data, each field checked against the status it belongs to."""
    fields = ("amount", "payment_ref", "delivery", "note")
    given = {name for name in fields if getattr(body, name) is not None}
    takes = STATUS_FIELDS.get(body.status, ())
    extra = sorted(given - set(takes))
    if extra:
        raise ApiError(
            400, "invalid_field", f"{extra[0]} goes only with its own status, not {body.status}",
            field=extra[0],
        )  # fmt: skip
    for name in takes:
        if name not in given and name not in OPTIONAL:
            raise ApiError(400, "missing_field", f"status {body.status} needs {name}", field=name)
    return Change(
        status=body.status,
        amount=body.amount or 0,
        payment_ref=body.payment_ref or "",
        delivery=body.delivery or "",
        note=body.note or "",
    )


@require_scope(SCOPE)
async def create_request(request: web.Request) -> web.StreamResponse:
    body = await read_model(request, ServiceRequestIn)
    client = request[API_KEY_NAME]
    with rendering_as():
        record = await requests.file(
            request.app[DEPS],
            body.mobile,
            body.services,
            body.description,
            client=client,
            national_id=body.national_id,
            channel="api",
            lang=body.lang,
        )
    if record is None:
        raise RuntimeError("a filing without a cap is never refused")
    return answer(ServiceRequestOut.of(record), 201)


@require_scope(SCOPE)
async def list_requests(request: web.Request) -> web.StreamResponse:
    query = read_query(request, ServiceRequestQuery)
    where: dict[str, object] = {"client": (request[API_KEY_NAME], CITIZEN)}
    if query.status is not None:
        where["status"] = query.status
    if query.mobile is not None:
        where["mobile"] = query.mobile
    items, cursor = await record_page(request.app[STORAGE], ServiceRequest, where, query)
    return answer(
        ServiceRequestPage(items=[ServiceRequestOut.of(r) for r in items], next_cursor=cursor)
    )


@require_scope(SCOPE)
async def get_request(request: web.Request) -> web.StreamResponse:
    record = await request.app[STORAGE].get_record(ServiceRequest, _number(request))
    return answer(ServiceRequestOut.of(_visible(record, request[API_KEY_NAME])))


@require_scope(SCOPE)
async def patch_request(request: web.Request) -> web.StreamResponse:
    number = _number(request)
    body = await read_model(request, ServiceRequestPatch)
    change = _change(body)
    client = request[API_KEY_NAME]
    deps = request.app[DEPS]
    now = deps.clock()

    def move(record: ServiceRequest) -> ServiceRequest:
        # Inside the storage's transaction: a refusal here writes nothing.
        return requests.apply(_visible(record, client), change, now)

    try:
        with rendering_as():
            record = await deps.store.change_record(
                ServiceRequest, number, move, requests.notifier(deps, client)
            )
    except InvalidTransition as exc:
        raise ApiError(
            409,
            "invalid_transition",
            f"a request cannot go from {exc.current} to {exc.wanted}",
            field="status",
            current=exc.current,
            wanted=exc.wanted,
        ) from None
    return answer(ServiceRequestOut.of(_visible(record, client)))


NUMBER = {"number": ("9-digit request number", r"^[0-9]{9}$")}
OPERATIONS = (
    Op("post", "/v1/service-requests", "File a service request for a citizen", "requests",
       ok=201, response=ServiceRequestOut, body=ServiceRequestIn, scope=SCOPE,
       description="The gateway allocates the number and sends it to the mobile by SMS.",
       errors={400: ("invalid_national_id", "invalid_mobile")}),
    Op("get", "/v1/service-requests", "List service requests", "requests",
       response=ServiceRequestPage, query=ServiceRequestQuery, scope=SCOPE,
       description="This client's requests and citizens' own (filed by USSD or SMS).",
       errors={400: ("invalid_field", "unknown_field")}),
    Op("get", "/v1/service-requests/{number}", "Read a service request", "requests",
       response=ServiceRequestOut, scope=SCOPE, path_params=NUMBER,
       errors={404: ("not_found",)}),
    Op("patch", "/v1/service-requests/{number}", "Move a service request along its life cycle",
       "requests", response=ServiceRequestOut, body=ServiceRequestPatch, scope=SCOPE,
       path_params=NUMBER,
       description="Each change of status sends the requester its SMS. A change outside the "
       "life cycle is a 409 naming both states; nothing is written.",
       errors={400: ("missing_field", "invalid_field"), 404: ("not_found",),
               409: ("invalid_transition",)}),
)  # fmt: skip


def setup(app: web.Application) -> None:
    edge.add(app, "POST", "/v1/service-requests", create_request)
    edge.add(app, "GET", "/v1/service-requests", list_requests)
    edge.add(app, "GET", "/v1/service-requests/{number}", get_request)
    edge.add(app, "PATCH", "/v1/service-requests/{number}", patch_request)
