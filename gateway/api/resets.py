"""`POST /v1/password-resets/verify`: the portal checks a national ID and the temporary password
sent by SMS; only the latest unexpired reset is valid, and wrong guesses spend it (scope `resets`).
Verifications are limited per national ID and per API key: 429 `rate_limited` with `Retry-After`.
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import AfterValidator, BaseModel, Field

from gateway.api.common import answer, read_model
from gateway.api.fields import (
    STRICT,
    NationalId,
)
from gateway.api.operations import Op
from gateway.appkeys import DEPS
from gateway.web import edge
from gateway.web.auth import API_KEY_ID, require_scope
from gateway.web.errors import ApiError
from sessions.normalize import normalize
from sessions.services import reset

SCOPE = "resets"

PASSWORD_MAX = 128


def _password(value: str) -> str:
    return normalize(value)


class VerifyIn(BaseModel):
    """The body of `POST /v1/password-resets/verify`."""

    model_config = STRICT

    national_id: NationalId
    password: Annotated[str, AfterValidator(_password)] = Field(
        min_length=1,
        max_length=PASSWORD_MAX,
        description="The temporary password the citizen received by SMS.",
        examples=["Xk7mPq2Rtz"],
    )


class VerifyOut(BaseModel):
    valid: bool = Field(
        description="True only for the latest unexpired reset of this national ID; five wrong "
        "passwords spend a reset."
    )


@require_scope(SCOPE)
async def verify(request: web.Request) -> web.StreamResponse:
    body = await read_model(request, VerifyIn)
    deps = request.app[DEPS]
    wait = await reset.verify_allowed(deps, body.national_id, request[API_KEY_ID])
    if wait is not None:
        raise ApiError(
            429, "rate_limited", "too many verifications; try again later", retry_after=wait
        )
    valid = await reset.verify(deps, body.national_id, body.password)
    # A check changes nothing when it succeeds, and only a counter when it fails: the act itself
    # is what the trail keeps.
    await deps.store.audit_event("password_resets.verified", body.national_id, {"valid": valid})
    return answer(VerifyOut(valid=valid))


OPERATIONS = (
    Op("post", "/v1/password-resets/verify", "Verify a temporary password", "resets",
       response=VerifyOut, body=VerifyIn, scope=SCOPE,
       errors={400: ("invalid_national_id",), 429: ("rate_limited",)}),
)  # fmt: skip


def setup(app: web.Application) -> None:
    edge.add(app, "POST", "/v1/password-resets/verify", verify)
