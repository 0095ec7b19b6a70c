"""`GET /openapi.json` and the offline docs page at `/docs`."""

from __future__ import annotations

import json
from importlib import resources

from aiohttp import web

from gateway.api.openapi import build_document
from gateway.web import edge

# The page loads only its own script and style, and nothing may frame it.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_STATIC = {
    "/docs": ("docs.html", "text/html"),
    "/docs.js": ("docs.js", "text/javascript"),
    "/docs.css": ("docs.css", "text/css"),
}


def _static(name: str) -> str:
    return (resources.files("gateway") / "static" / name).read_text(encoding="utf-8")


def setup(app: web.Application) -> None:
    document = json.dumps(build_document(), ensure_ascii=False)

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(text=document, content_type="application/json")

    edge.add(app, "GET", "/openapi.json", openapi)
    for path, (name, content_type) in _STATIC.items():
        body = _static(name)

        async def page(
            request: web.Request, body: str = body, ct: str = content_type
        ) -> web.Response:
            return web.Response(text=body, content_type=ct, headers=SECURITY_HEADERS)

        edge.add(app, "GET", path, page)
