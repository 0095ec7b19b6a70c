"""`GET|POST /sms/{provider}/status` and `/inbound`: what the providers push to us.

Idempotent: a provider that repeats a callback (they do, until they see a 200) changes nothing the
second time, and a late "sent" never undoes "delivered".
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from channels.fields import UNREADABLE_BODY
from gateway.appkeys import CLOCK, DEPS, PROVIDERS, STORAGE
from gateway.web import edge
from gateway.web.access import guard_callback
from gateway.web.errors import error_response
from providers.base import CallbackFieldsError, Provider
from providers.outbox import status_updates
from sessions.json_depth import TooDeep, check_depth
from sessions.services.inbound import handle_inbound

log = logging.getLogger("gateway.sms")


async def _fields(request: web.Request) -> dict[str, str]:
    """Query string and body together: providers report by GET, by form POST or by JSON."""
    fields = {k: str(v) for k, v in request.query.items()}
    if request.method != "POST" or not request.can_read_body:
        return fields
    if request.content_type == "application/json":
        try:
            text = await request.text()
            check_depth(text)
            body = json.loads(text)
        except TooDeep:  # a ValueError too, answered with its own code
            raise
        except (json.JSONDecodeError, RecursionError):
            raise ValueError("the body is not JSON") from None
        except UNREADABLE_BODY:  # an unknown charset, or bytes not in it
            raise ValueError("the body could not be read") from None
        if not isinstance(body, dict):
            raise ValueError("the JSON body must be an object")
        fields.update({k: str(v) for k, v in body.items() if v is not None})
    else:
        try:
            form = await request.post()
        except UNREADABLE_BODY:
            raise ValueError("the body could not be read") from None
        fields.update({k: str(v) for k, v in form.items()})
    return fields


async def _provider_fields(
    request: web.Request,
) -> tuple[str, Provider, dict[str, str]] | web.Response:
    """The provider named in the path, once its callback is allowed, and the fields it sent."""
    name = request.match_info["provider"]
    provider = request.app[PROVIDERS].get(name)
    if provider is None:
        return error_response(404, "unknown_provider", f"no SMS provider named {name!r} here")
    refused = guard_callback(request, "sms", name)
    if refused is not None:
        return refused
    try:
        return name, provider, await _fields(request)
    except TooDeep as exc:
        return error_response(400, exc.code, str(exc), fields=[])
    except ValueError as exc:
        return error_response(400, "malformed_body", str(exc), fields=[])


def _refused(exc: ValueError) -> web.Response:
    """The shape of every callback's 400: a stable code and the fields at fault."""
    if isinstance(exc, CallbackFieldsError):
        return error_response(400, exc.code, str(exc), fields=exc.fields)
    return error_response(400, "invalid_fields", str(exc), fields=[])


async def status_callback(request: web.Request) -> web.Response:
    found = await _provider_fields(request)
    if isinstance(found, web.Response):
        return found
    name, provider, fields = found
    try:
        reports = provider.parse_status_callback(fields)
    except ValueError as exc:
        return _refused(exc)
    app = request.app
    updated = await app[STORAGE].apply_reports(name, status_updates(reports), app[CLOCK]())
    log.info("%s delivery report: %d report(s), %d updated", name, len(reports), updated)
    return web.json_response({"updated": updated})


async def inbound_callback(request: web.Request) -> web.Response:
    found = await _provider_fields(request)
    if isinstance(found, web.Response):
        return found
    name, provider, fields = found
    try:
        sms = provider.parse_inbound(fields)
    except ValueError as exc:
        return _refused(exc)
    fresh = await handle_inbound(
        request.app[DEPS], name, sms.provider_message_id, sms.sender, sms.text
    )
    return web.json_response({"accepted": True, "duplicate": not fresh})


def setup(app: web.Application) -> None:
    # Each also with the provider's callback secret as the last segment (`…/inbound/{token}`):
    # a provider's panel takes a URL, rarely a header.
    for suffix in ("", "/{token}"):
        edge.add(app, "GET", "/sms/{provider}/inbound" + suffix, inbound_callback)
        edge.add(app, "POST", "/sms/{provider}/inbound" + suffix, inbound_callback)
        edge.add(app, "GET", "/sms/{provider}/status" + suffix, status_callback)
        edge.add(app, "POST", "/sms/{provider}/status" + suffix, status_callback)
