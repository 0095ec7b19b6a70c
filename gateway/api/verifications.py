"""`/v1/verifications`: the gateway sends a code it made to a mobile for one purpose, and later
answers whether the code a user typed is right (scope `verify`). The code never leaves the gateway
but in the SMS (or call) itself: only its keyed hash is kept, and it waits sealed in the outbox."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from gateway.api.common import answer, read_model
from gateway.api.fields import Mobile, NationalId, at
from gateway.api.operations import Op
from gateway.appkeys import DEPS, SETTINGS
from gateway.settings import Settings
from gateway.web import edge
from gateway.web.auth import API_KEY_ID, API_KEY_NAME, require_scope
from gateway.web.errors import ApiError
from sessions.masking import mask_msisdn
from sessions.normalize import digits_only
from sessions.services import verify

SCOPE = "verify"
ID_PATTERN = verify.ID_PATTERN


def _purpose(value: str) -> str:
    if value not in verify.PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(verify.PURPOSES)}")
    return value


class VerificationIn(BaseModel):
    """Send a new code. The same mobile and purpose again from the same client within the
    resend interval (120 s) is a 429 with the seconds left; a later one sends a new code and
    voids the old one."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"mobile": "09121234567", "purpose": "activation", "national_id": "0012345679"},
                {"mobile": "+989121234567", "purpose": "delete_unit", "channel": "voice"},
            ]
        },
    )

    mobile: Mobile
    purpose: Annotated[str, AfterValidator(_purpose)] = Field(
        description="What the code is for; each has its own text: "
        + ", ".join(f"`{p}`" for p in verify.PURPOSES),
        examples=["activation"],
        max_length=32,
    )
    national_id: NationalId | None = Field(
        None, description="Binds the code to this national ID: a check must give the same one."
    )
    channel: Literal["sms", "voice"] = Field(
        "sms",
        description="`voice`: the code read out in a call (Kavenegar verify/lookup type=call); "
        "400 `channel_unavailable` where the configured provider has no voice route.",
    )
    lang: Literal["fa", "en"] = "fa"


class VerificationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "vf_3f9c2a7b1e0d4c5a6b7e8f90",
                    "status": "pending",
                    "purpose": "activation",
                    "channel": "sms",
                    "mobile": "0912***4567",
                    "expires_at": "2026-12-05T08:10:00Z",
                    "resend_after_s": 120,
                }
            ]
        }
    )

    id: str = Field(
        description="The verification's id, for the check.", examples=["vf_" + "0" * 24]
    )
    status: Literal["pending"] = "pending"
    purpose: str
    channel: str
    mobile: str = Field(description="masked, like 0912***4567")
    expires_at: datetime = Field(description="ISO 8601, UTC: after this the code is `expired`.")
    resend_after_s: int = Field(
        description="Seconds until a new code for this mobile and purpose may be asked for.",
        examples=[120],
    )


def _code(value: str) -> str:
    """Digits as typed on a phone: Persian or Arabic-Indic, with spaces, dashes or invisible
    marks (ZWNJ, RLM, …) between them; a code with no digit left is no code at all."""
    code = digits_only(value)
    if not code:
        raise ValueError("the code has no digits")
    return code


class CheckIn(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"examples": [{"code": "482913", "national_id": "0012345679"}]},
    )

    code: Annotated[str, AfterValidator(_code)] = Field(
        min_length=1, max_length=verify.CODE_MAX, description="The code the user typed."
    )
    national_id: NationalId | None = Field(
        None, description="Required when the code was bound to one: another ID is a wrong code."
    )


class CheckOut(BaseModel):
    """The same shape whatever the outcome; an id that does not exist, or belongs to another
    client, answers exactly as a wrong code."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "approved", "valid": True},
                {"status": "wrong_code", "valid": False},
            ]
        }
    )

    status: Literal["approved", "wrong_code", "spent", "expired"] = Field(
        description="`approved` once (the verification is then spent); `wrong_code` (counted: "
        "after 5 it is spent); `spent`; `expired`.",
        examples=["approved"],
    )
    valid: bool = Field(description="True only for `approved`.")


def voice_available(settings: Settings, purpose: str) -> bool:
    """A call needs Kavenegar as the provider, with a verify/lookup template for the purpose."""
    return settings.sms_provider == "kavenegar" and bool(
        settings.kavenegar_verify_templates.get(purpose)
    )


def _window_left(window_s: int, now: float) -> int:
    return max(1, math.ceil(window_s - now % window_s))


@require_scope(SCOPE)
async def post_verification(request: web.Request) -> web.Response:
    body = await read_model(request, VerificationIn)
    if body.channel == "voice" and not voice_available(request.app[SETTINGS], body.purpose):
        raise ApiError(
            400,
            "channel_unavailable",
            "the configured SMS provider has no voice route for this purpose",
            field="channel",
        )
    deps = request.app[DEPS]
    full = await deps.store.hit_limits([verify.send_limit(deps, request[API_KEY_ID])], deps.clock())
    if full is not None:
        raise ApiError(
            429,
            "rate_limited",
            "this key has asked for many codes this minute; try again later",
            retry_after=_window_left(full.window_s, deps.clock()),
        )
    started = await verify.start(
        deps,
        client=request[API_KEY_NAME],
        mobile=body.mobile,
        purpose=body.purpose,
        national_id=body.national_id,
        channel=body.channel,
        lang=body.lang,
    )
    if started.refused == "resend_too_soon":
        raise ApiError(
            429,
            "resend_too_soon",
            f"a code went to this number for this purpose recently; try again in "
            f"{started.wait_s} s",
            retry_after=started.wait_s,
        )
    if started.refused is not None:
        raise ApiError(
            429,
            "rate_limited",
            f"this number has had its codes from you for now; try again in {started.wait_s} s",
            retry_after=started.wait_s,
        )
    v = started.verification
    assert v is not None
    out = VerificationOut(
        id=v.id,
        purpose=v.purpose,
        channel=v.channel,
        mobile=mask_msisdn(v.mobile),
        expires_at=at(v.expires_at),
        resend_after_s=started.resend_after_s,
    )
    return answer(out, status=201)


@require_scope(SCOPE)
async def check_verification(request: web.Request) -> web.Response:
    body = await read_model(request, CheckIn)
    deps = request.app[DEPS]
    limit = verify.check_limit(deps, request[API_KEY_ID])
    full = await deps.store.hit_limits([limit], deps.clock())
    if full is not None:
        wait = _window_left(full.window_s, deps.clock())
        raise ApiError(429, "rate_limited", "too many checks; try again later", retry_after=wait)
    status = await verify.check(
        deps, request[API_KEY_NAME], request.match_info["id"], body.code, body.national_id
    )
    return answer(CheckOut(status=status.value, valid=status is verify.CheckStatus.APPROVED))


OPERATIONS = (
    Op("post", "/v1/verifications", "Send a verification code", "verifications", ok=201,
       response=VerificationOut, body=VerificationIn, scope=SCOPE,
       description="The gateway makes the code (digits, from `secrets`), keeps only its keyed "
       "hash and sends it with the purpose's own text, ahead of every notice; undelivered when "
       "it expires, it is never sent late. 429 `resend_too_soon` within the purpose's resend "
       "interval (120 s), 429 `rate_limited` past 5 codes an hour or 10 a day per mobile "
       "from this client, or 120 requests a minute per key, both with `retry_after`; 400 "
       "`channel_unavailable` for a voice code without a voice route.",
       errors={400: ("invalid_mobile", "invalid_national_id", "channel_unavailable"),
               429: ("resend_too_soon", "rate_limited")}),
    Op("post", "/v1/verifications/{id}/check", "Check a verification code", "verifications",
       response=CheckOut, body=CheckIn, scope=SCOPE,
       path_params={"id": ("verification id", ID_PATTERN)},
       description="Always 200 with a `status`; an unknown id, or another client's, is a "
       "`wrong_code`. Checks are limited per API key (429 `rate_limited`).",
       errors={400: ("invalid_national_id",), 429: ("rate_limited",)}),
)  # fmt: skip


def setup(app: web.Application) -> None:
    edge.add(app, "POST", "/v1/verifications", post_verification)
    edge.add(app, "POST", "/v1/verifications/{id}/check", check_verification)
