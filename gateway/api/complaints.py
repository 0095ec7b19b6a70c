"""`/v1/complaints`: staff systems list and read tickets and move them along their life cycle;
each change of status notifies the complainant by SMS (scope `complaints`)."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import AfterValidator, BaseModel, Field

from gateway.api.common import answer, read_model, read_query, rendering_as
from gateway.api.fields import STRICT, Timestamp, at, sms_text
from gateway.api.operations import Op
from gateway.api.paging import PageQuery, record_page
from gateway.appkeys import DEPS, STORAGE
from gateway.web import edge
from gateway.web.auth import API_KEY_NAME, require_scope
from gateway.web.errors import ApiError
from sessions.normalize import digits_only
from sessions.records import Complaint
from sessions.services import complaints
from sessions.services.complaints import ANSWER_MAX

SCOPE = "complaints"

TICKET_MAX = 12

ComplaintStatus = Literal["open", "in_review", "answered", "closed"]
ComplaintSubject = Literal["loan_rejected", "workshop_not_found", "registration", "other"]


class ComplaintPatch(BaseModel):
    """The body of `PATCH /v1/complaints/{ticket}`: at least one of the two fields.

    A change of `status` sends the complainant an SMS (with the answer, once answered or closed).
    """

    model_config = STRICT

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
                "created_at": at(record.created_at),
                "updated_at": at(record.updated_at),
            }
        )


class ComplaintQuery(PageQuery):
    """The query of `GET /v1/complaints`; results are ordered by creation, oldest first."""

    status: ComplaintStatus | None = Field(None, description="Only tickets in this status.")


class ComplaintPage(BaseModel):
    items: list[ComplaintOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


def _ticket(request: web.Request) -> str:
    """The ticket from the path in ASCII digits; anything else cannot name a ticket: 404."""
    ticket = digits_only(request.match_info["ticket"])
    if not (ticket.isascii() and ticket.isdigit() and len(ticket) <= TICKET_MAX):
        raise ApiError(404, "not_found", "no complaint with this ticket")
    return ticket


@require_scope(SCOPE)
async def list_complaints(request: web.Request) -> web.StreamResponse:
    query = read_query(request, ComplaintQuery)
    where = {"status": query.status} if query.status is not None else {}
    items, cursor = await record_page(request.app[STORAGE], Complaint, where, query)
    return answer(ComplaintPage(items=[ComplaintOut.of(c) for c in items], next_cursor=cursor))


@require_scope(SCOPE)
async def get_complaint(request: web.Request) -> web.StreamResponse:
    record = await request.app[STORAGE].get_record(Complaint, _ticket(request))
    if record is None:
        raise ApiError(404, "not_found", "no complaint with this ticket")
    return answer(ComplaintOut.of(record))


@require_scope(SCOPE)
async def patch_complaint(request: web.Request) -> web.StreamResponse:
    ticket = _ticket(request)
    body = await read_model(request, ComplaintPatch)
    if body.status is None and body.answer is None:
        raise ApiError(
            400,
            "missing_field",
            "send status, answer or both",
            field="status",
            fields=["status", "answer"],
        )
    with rendering_as():
        record = await complaints.update(
            request.app[DEPS], ticket, body.status, body.answer, source=request[API_KEY_NAME]
        )
    if record is None:
        raise ApiError(404, "not_found", "no complaint with this ticket")
    return answer(ComplaintOut.of(record))


TICKET = {"ticket": ("ticket number", r"^[0-9]{8}$")}
OPERATIONS = (
    Op("get", "/v1/complaints", "List complaints", "complaints",
       response=ComplaintPage, query=ComplaintQuery, scope=SCOPE,
       errors={400: ("invalid_field", "unknown_field")}),
    Op("get", "/v1/complaints/{ticket}", "Read a complaint", "complaints",
       response=ComplaintOut, scope=SCOPE, path_params=TICKET, errors={404: ("not_found",)}),
    Op("patch", "/v1/complaints/{ticket}", "Change a complaint's status or answer", "complaints",
       response=ComplaintOut, body=ComplaintPatch, scope=SCOPE, path_params=TICKET,
       description="A change of status notifies the complainant by SMS.",
       errors={404: ("not_found",)}),
)  # fmt: skip


def setup(app: web.Application) -> None:
    edge.add(app, "GET", "/v1/complaints", list_complaints)
    edge.add(app, "GET", "/v1/complaints/{ticket}", get_complaint)
    edge.add(app, "PATCH", "/v1/complaints/{ticket}", patch_complaint)
