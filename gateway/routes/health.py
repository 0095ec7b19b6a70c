"""Liveness and readiness."""

from __future__ import annotations

from aiohttp import web

from gateway.appkeys import STORAGE
from gateway.web import edge


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        ok = await request.app[STORAGE].ping()
    except Exception:
        ok = False
    status = 200 if ok else 503
    return web.json_response(
        {"status": "ready" if ok else "unavailable", "database": ok}, status=status
    )


def setup(app: web.Application) -> None:
    edge.add(app, "GET", "/healthz", healthz)
    edge.add(app, "GET", "/readyz", readyz)
