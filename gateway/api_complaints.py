"""`/v1/complaints`: staff systems list and read tickets and move them along their life cycle;
each change of status notifies the complainant by SMS (scope `complaints`)."""

from __future__ import annotations

import base64
import json
import math

from aiohttp import web

from gateway import edge
from gateway.api_common import answer, read_model, read_query, rendering_as
from gateway.api_models import ComplaintOut, ComplaintPage, ComplaintPatch, ComplaintQuery
from gateway.auth import API_KEY_NAME, require_scope
from gateway.errors import ApiError
from gateway.keys import DEPS, STORAGE
from sessions.normalize import digits_only
from sessions.records import Complaint
from sessions.services import complaints

TICKET_MAX = 12


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


@require_scope("complaints")
async def list_complaints(request: web.Request) -> web.StreamResponse:
    query = read_query(request, ComplaintQuery)
    after = decode_cursor(query.cursor) if query.cursor else None
    rows = await request.app[STORAGE].list_complaints(
        status=query.status,
        created_from=query.created_from.timestamp() if query.created_from else None,
        created_to=query.created_to.timestamp() if query.created_to else None,
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


@require_scope("complaints")
async def get_complaint(request: web.Request) -> web.StreamResponse:
    record = await request.app[STORAGE].get_complaint(_ticket(request))
    if record is None:
        raise ApiError(404, "not_found", "no complaint with this ticket")
    return answer(ComplaintOut.of(record))


@require_scope("complaints")
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


def setup(app: web.Application) -> None:
    edge.add(app, "GET", "/v1/complaints", list_complaints)
    edge.add(app, "GET", "/v1/complaints/{ticket}", get_complaint)
    edge.add(app, "PATCH", "/v1/complaints/{ticket}", patch_complaint)
