"""`POST /ussd/{dialect}`: operator callbacks into menu sessions."""

from __future__ import annotations

import logging

from aiohttp import web

from channels.models import BadCallback
from channels.registry import DIALECTS
from gateway.errors import error_response
from gateway.keys import USSD
from sessions.hop import UssdReply
from sessions.screens import T

log = logging.getLogger("gateway.ussd")

# Shown when something inside the gateway fails: the caller gets a polite screen, not silence.
UNAVAILABLE = T("سامانه موقتاً در دسترس نیست. لطفاً چند دقیقه دیگر دوباره تلاش کنید.", "")


async def ussd_callback(request: web.Request) -> web.StreamResponse:
    name = request.match_info["dialect"]
    dialect = DIALECTS.get(name)
    if dialect is None:
        return error_response(404, "unknown_dialect", f"no USSD dialect named {name!r}")
    try:
        hop = await dialect.parse(request)
    except BadCallback as exc:
        return error_response(400, exc.code, exc.message, fields=exc.fields)
    try:
        reply = await request.app[USSD].handle(hop)
    except Exception:
        log.exception("USSD hop failed (dialect %s)", name)
        reply = UssdReply(UNAVAILABLE.fa, end=True)
    return dialect.render(reply, hop)


def setup(app: web.Application) -> None:
    app.router.add_post("/ussd/{dialect}", ussd_callback)
