"""`POST /ussd/{dialect}` (or `/ussd/{dialect}/{token}`): operator callbacks into menu sessions."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from time import perf_counter

from aiohttp import web

from channels.models import BadCallback
from channels.registry import DIALECTS
from gateway.appkeys import USSD
from gateway.web import edge
from gateway.web.access import guard_callback
from gateway.web.counters import METRICS
from gateway.web.errors import error_response
from sessions.hop import UssdReply
from sessions.ports import Busy
from sessions.ussd import UNAVAILABLE

log = logging.getLogger("gateway.ussd")


async def ussd_callback(request: web.Request) -> web.StreamResponse:
    return await handle_hop(request, request.match_info["dialect"])


async def handle_hop(request: web.Request, name: str, let_in: bool = False) -> web.StreamResponse:
    """One hop; `let_in`: the caller was already let in by a guard of its own (the web phone's),
    in place of the operator's callback secret."""
    started = perf_counter()
    dialect = DIALECTS.get(name)
    if dialect is None:
        return error_response(404, "unknown_dialect", f"no USSD dialect named {name!r}")
    refused = None if let_in else guard_callback(request, "ussd", name)
    if refused is not None:
        return refused
    try:
        hop = await dialect.parse(request)
    except BadCallback as exc:
        return error_response(400, exc.code, exc.message, fields=exc.fields)
    try:
        reply = await request.app[USSD].handle(hop)
        outcome = "end" if reply.end else "continue"
    except Busy as exc:  # the session or the database's writer held elsewhere too long
        log.warning("USSD hop gave up waiting (dialect %s): %s", name, exc)
        reply = UssdReply(UNAVAILABLE.fa, end=True)
        outcome = "busy"
    except Exception:
        log.exception("USSD hop failed (dialect %s)", name)
        reply = UssdReply(UNAVAILABLE.fa, end=True)
        outcome = "error"
    request.app[METRICS].hop(name, outcome, perf_counter() - started)
    return dialect.render(reply, hop)


def _for_dialect(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    # A partial rather than a closure: one coroutine frame less on every hop, suspended and
    # resumed while the hop waits for its commit.
    return functools.partial(handle_hop, name=name)


def setup(app: web.Application) -> None:
    for name in DIALECTS:
        # A plain route per dialect is found by one dictionary look-up, before any pattern.
        handler = _for_dialect(name)
        edge.add(app, "POST", f"/ussd/{name}", handler)
        # The dialect's secret as the last segment, for operators that cannot send a header.
        edge.add(app, "POST", f"/ussd/{name}/{{token}}", handler)
    edge.add(app, "POST", "/ussd/{dialect}", ussd_callback)  # any other name: 404 unknown_dialect
