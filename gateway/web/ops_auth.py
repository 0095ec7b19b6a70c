"""The operator console's sign-in: an `ops`-scoped API key exchanged for a session cookie
(HttpOnly, SameSite=Strict, path /ops; only its hash stored), a CSRF token on every form (the
session's; before sign-in a double-submit cookie), a short idle timeout, sign-in tries limited
per caller address. Every action is in the audit trail (gateway/storage/audit.py)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets

from aiohttp import web

from gateway.api.registry import OPS
from gateway.appkeys import CLOCK, SETTINGS, STORAGE
from gateway.storage.audit import Actor, acting_as
from gateway.web.access import client_address
from gateway.web.auth import authenticate
from sessions.masking import mask_text
from sessions.ports import OpsSession
from sessions.records import Limit

log = logging.getLogger("dargah.audit")

ANONYMOUS = "-"  # the client of a refused sign-in
COOKIE = "dargah_ops"
LOGIN_COOKIE = "dargah_ops_login"
LOGIN_WINDOW_S = 15 * 60


# Never stored: a NUL byte is an error in PostgreSQL, and no target needs control characters.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str) -> None:
    response.set_cookie(
        name, value, path="/ops", httponly=True, samesite="Strict", secure=request.secure
    )


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(_hash(given), _hash(expected))


async def login_allowed(request: web.Request) -> bool:
    """Counts one sign-in try against the caller's address; False once they are used up."""
    settings = request.app[SETTINGS]
    address = client_address(request, settings.trusted_proxies)
    key = f"ops-login:{_hash(str(address))[:32]}"
    full = await request.app[STORAGE].hit_limits(
        [Limit(key, settings.ops_login_attempts, LOGIN_WINDOW_S)], request.app[CLOCK]()
    )
    return full is None


async def sign_in(request: web.Request, api_key: str) -> tuple[OpsSession, str] | None:
    """A new session for a valid, unrevoked key with the `ops` scope; its cookie's token."""
    store = request.app[STORAGE]
    key = await authenticate(store, f"Bearer {api_key.strip()}")
    if key is None or OPS not in key.scopes:
        return None
    token = secrets.token_urlsafe(32)
    now = request.app[CLOCK]()
    session = OpsSession(_hash(token), key.key_id, key.name, secrets.token_urlsafe(24), now, now)
    await store.add_ops_session(session)
    return session, token


async def current(request: web.Request) -> tuple[OpsSession | None, bool]:
    """The signed-in session, or None and whether one was there but is no longer good
    (idle past the timeout, or its key revoked or stripped of `ops`)."""
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > 128:
        return None, False
    store = request.app[STORAGE]
    idle = request.app[SETTINGS].ops_idle_timeout_s
    session = await store.touch_ops_session(_hash(token), request.app[CLOCK](), idle)
    if session is None:
        return None, True
    key = await store.get_api_key(session.key_id)
    if key is None or key.revoked or OPS not in key.scopes:
        await store.end_ops_session(session.token_hash)
        return None, True
    return session, False


async def sign_out(request: web.Request) -> None:
    token = request.cookies.get(COOKIE, "")
    if token:
        await request.app[STORAGE].end_ops_session(_hash(token))


def actor(request: web.Request, session: OpsSession | None) -> Actor:
    """Who acts in the audit trail: the signed-in key, or (a refused sign-in) no one known."""
    if session is None:
        return Actor("", ANONYMOUS, request.app[CLOCK])
    return Actor(session.key_id, session.client, request.app[CLOCK])


async def audit(
    request: web.Request,
    session: OpsSession | None,
    action: str,
    target: str,
    outcome: str,
    *,
    personal_target: bool = True,
) -> None:
    """An operator's act that changes nothing audited elsewhere, in the audit trail
    (`<object>.<verb>`, the target masked unless the gateway made it, how it ended)."""
    shown = _CONTROL.sub("?", target)[:120]
    with acting_as(actor(request, session)):
        await request.app[STORAGE].audit_event(
            action, shown, {"outcome": outcome}, personal_target=personal_target
        )
    log.info("ops %s %s: %s", action, mask_text(shown), outcome)
