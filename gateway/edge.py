"""The one middleware every request passes through: the body limit, errors as JSON, the request
count and the security headers, in that order, so the count and the headers are those of the
answer the caller finally gets.

One layer, where there were three middlewares and a response signal, each a frame and a call on
every request; the order that matters is written here once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.access import limit_body, secure
from gateway.errors import error_for
from gateway.metrics import count

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def edge_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(limit_body(request))
    except Exception as exc:  # every failure answers in JSON; nothing escapes as a bare 500
        response = error_for(request, exc)
    secure(request, response)
    count(request, response.status)
    return response
