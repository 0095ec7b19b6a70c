"""Fake provider servers (aiohttp applications) that speak each provider's protocol exactly,
and a replay server that answers a recorded raw payload and keeps what was sent to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Replay:
    """Answers every request with one recorded answer; records path, form/JSON body, headers."""

    http_status: int
    body: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            body: Any = await request.json()
        else:
            body = {k: str(v) for k, v in (await request.post()).items()}
        self.seen.append({"path": request.path, "body": body, "headers": dict(request.headers)})
        return web.Response(
            status=self.http_status, text=self.body, content_type="application/json"
        )
