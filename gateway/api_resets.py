"""`POST /v1/password-resets/verify`: the portal checks a national ID and the temporary password
sent by SMS; only the latest unexpired reset is valid, and wrong guesses spend it (scope `resets`).
Verifications are limited per national ID and per API key: 429 `rate_limited` with `Retry-After`.
"""

from __future__ import annotations

from aiohttp import web

from gateway import edge
from gateway.api_common import answer, read_model
from gateway.api_models import VerifyIn, VerifyOut
from gateway.auth import API_KEY_ID, require_scope
from gateway.errors import ApiError
from gateway.keys import DEPS
from sessions.services import reset


@require_scope("resets")
async def verify(request: web.Request) -> web.StreamResponse:
    body = await read_model(request, VerifyIn)
    deps = request.app[DEPS]
    wait = await reset.verify_allowed(deps, body.national_id, request[API_KEY_ID])
    if wait is not None:
        raise ApiError(
            429, "rate_limited", "too many verifications; try again later", retry_after=wait
        )
    valid = await reset.verify(deps, body.national_id, body.password)
    return answer(VerifyOut(valid=valid))


def setup(app: web.Application) -> None:
    edge.add(app, "POST", "/v1/password-resets/verify", verify)
