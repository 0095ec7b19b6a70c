"""The edge every answer passes: the body limit, errors as JSON, the request count and the security
headers, in that order, so the count and the headers are those of the answer the caller finally
gets.

Each route's handler is wrapped once, when it is added (`add`), rather than through an aiohttp
middleware: a middleware costs every request two more coroutine frames, a partial call and the
route's pattern looked up again; a whole USSD hop in process took 143 µs of CPU with it and 125
without (bench/RESULTS.md). What a route's wrapper needs (its pattern for the count, its body
limit, whether it is the API) is worked out here once. A last route (`add_fallback`) answers every
other path with the same JSON 404 or 405 that aiohttp would have raised, through the same edge.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from time import perf_counter

from aiohttp import hdrs, web

from gateway.web.access import body_limit, limit_body, secure
from gateway.web.counters import METRICS, UNMATCHED
from gateway.web.errors import error_for
from gateway.web.logs import REQUEST_ID, REQUEST_ID_HEADER, STARTED, request_id

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_FALLBACK_PATH = "/{tail:.*}"


def add(app: web.Application, method: str, path: str, handler: Handler) -> None:
    """Serves `method path` with `handler` behind the edge; GET also answers HEAD. Counted under
    the route's pattern as aiohttp writes it (`/v1/loans/{tracking_code}`). Every route is added
    before `add_fallback`, which is found after any route under `/` added later."""
    resource = app.router.add_resource(path)
    wrapped = _at_edge(app, handler, resource.canonical, body_limit(path), path.startswith("/v1/"))
    if method == hdrs.METH_GET:
        resource.add_route(hdrs.METH_HEAD, wrapped)
    resource.add_route(method, wrapped)


def add_fallback(app: web.Application) -> None:
    """Added after every other route: any other path gets the JSON 404, or 405 with `Allow`."""

    async def unmatched(request: web.Request) -> web.StreamResponse:
        # The limit and the headers of the path asked for, as if a route had served it.
        path = request.path
        serve = _at_edge(app, _unmatched, UNMATCHED, body_limit(path), path.startswith("/v1/"))
        return await serve(request)

    app.router.add_route(hdrs.METH_ANY, _FALLBACK_PATH, unmatched, name=UNMATCHED)


def _at_edge(app: web.Application, handler: Handler, label: str, limit: int, api: bool) -> Handler:
    metrics = app[METRICS]
    timed = metrics.api_seconds if api else None  # a hop is timed by its route, per dialect

    async def at_edge(request: web.Request) -> web.StreamResponse:
        started = request[STARTED] = perf_counter()
        rid = request_id(request.headers.get(REQUEST_ID_HEADER))
        token = REQUEST_ID.set(rid)  # every line logged for this request carries its id
        try:
            response = await handler(limit_body(request, limit))
        except Exception as exc:  # every failure answers in JSON; nothing escapes as a bare 500
            response = error_for(request, exc)
        finally:
            REQUEST_ID.reset(token)
        secure(response, api)
        response.headers[REQUEST_ID_HEADER] = rid
        metrics.requests[(request.method, label, response.status)] += 1
        if timed is not None:
            timed.observe(perf_counter() - started, label)
        return response

    return at_edge


async def _unmatched(request: web.Request) -> web.StreamResponse:
    """What aiohttp's router answers when no route matches, asked of every other route."""
    own = request.match_info.route.resource
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource is not own:
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()
