"""`POST /v1/password-resets/verify`: the portal checks a national ID and the temporary password
sent by SMS; only the latest unexpired reset is valid, and wrong guesses spend it (scope `resets`).
"""

from __future__ import annotations

from aiohttp import web

from gateway.api_common import answer, read_model
from gateway.api_models import VerifyIn, VerifyOut
from gateway.auth import require_scope
from gateway.keys import DEPS
from sessions.services import reset


@require_scope("resets")
async def verify(request: web.Request) -> web.StreamResponse:
    body = await read_model(request, VerifyIn)
    valid = await reset.verify(request.app[DEPS], body.national_id, body.password)
    return answer(VerifyOut(valid=valid))


def setup(app: web.Application) -> None:
    app.router.add_post("/v1/password-resets/verify", verify)
