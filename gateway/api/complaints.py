"""`/v1/complaints`: staff systems list and read tickets and move them along their life cycle;
each change of status notifies the complainant by SMS (scope `complaints`)."""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import datetime, timedelta
from typing import Annotated, Literal

from aiohttp import web
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from gateway.api.common import answer, read_model, read_query, rendering_as
from gateway.api.fields import STRICT, Timestamp, at, sms_text
from gateway.api.operations import Op
from gateway.appkeys import DEPS, STORAGE
from gateway.web import edge
from gateway.web.auth import API_KEY_NAME, require_scope
from gateway.web.errors import ApiError
from sessions.normalize import digits_only, normalize
from sessions.records import Complaint
from sessions.services import complaints
from sessions.services.complaints import ANSWER_MAX
from templates_sms import parse_send_at

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


def _digits(value: object) -> object:
    return digits_only(value) if isinstance(value, str) else value


def _date_from(value: object) -> object:
    return parse_send_at(value) if isinstance(value, str) else value


def _date_to(value: object) -> object:
    """A bare date as `to` includes that whole day: the filter is `created_at < to`."""
    if not isinstance(value, str):
        return value
    moment = parse_send_at(value)
    return moment + timedelta(days=1) if _DATE_ONLY.fullmatch(normalize(value)) else moment


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


def encode_cursor(last: Complaint) -> str:
    """Opaque to callers: the keyset position after `last`."""
    raw = json.dumps([last.created_at, last.ticket]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    bad = ApiError(400, "invalid_field", "not a cursor this API gave out", field="cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, ticket = json.loads(raw)
    except (ValueError, TypeError):
        raise bad from None
    if (
        not isinstance(created_at, int | float)
        or isinstance(created_at, bool)
        or not math.isfinite(created_at)
        or not isinstance(ticket, str)
    ):
        raise bad
    return float(created_at), ticket


def _ticket(request: web.Request) -> str:
    """The ticket from the path in ASCII digits; anything else cannot name a ticket: 404."""
    ticket = digits_only(request.match_info["ticket"])
    if not (ticket.isascii() and ticket.isdigit() and len(ticket) <= TICKET_MAX):
        raise ApiError(404, "not_found", "no complaint with this ticket")
    return ticket


@require_scope(SCOPE)
async def list_complaints(request: web.Request) -> web.StreamResponse:
    query = read_query(request, ComplaintQuery)
    after = decode_cursor(query.cursor) if query.cursor else None
    rows = await request.app[STORAGE].find_records(
        Complaint,
        {"status": query.status} if query.status is not None else {},
        since=query.created_from.timestamp() if query.created_from else None,
        until=query.created_to.timestamp() if query.created_to else None,
        after=after,
        limit=query.limit + 1,  # one more than asked tells whether another page follows
    )
    page = rows[: query.limit]
    more = len(rows) > query.limit
    return answer(
        ComplaintPage(
            items=[ComplaintOut.of(c) for c in page],
            next_cursor=encode_cursor(page[-1]) if more else None,
        )
    )


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
