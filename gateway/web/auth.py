"""API keys: random, shown once, stored as a hash, compared in constant time, scoped per route.

A key reads `dgk_<key id>_<secret>`: the id finds the row, the secret is checked against its hash.
The secret has 256 bits of entropy, so a single SHA-256 is as strong as any slow hash here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.appkeys import CLOCK, STORAGE
from gateway.storage.audit import Actor, acting_as
from gateway.web.errors import ApiError
from sessions.ports import KeyStore
from sessions.records import ApiKey

_KEY = re.compile(r"dgk_([A-Za-z0-9]{12})_([A-Za-z0-9_\-]{43})")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_KEY_NAME = web.RequestKey("api_key_name", str)
API_KEY_ID = web.RequestKey("api_key_id", str)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key(name: str, scopes: frozenset[str], now: float) -> tuple[str, ApiKey]:
    """The key to show once, and the record to store (without the secret)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"dgk_{key_id}_{secret}", ApiKey(key_id, name, _hash(secret), scopes, now)


async def authenticate(store: KeyStore, header: str | None) -> ApiKey | None:
    # The scheme is case-insensitive (RFC 7235): `bearer` and `BEARER` are as good as `Bearer`.
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    match = _KEY.fullmatch(credentials.strip())
    if match is None:
        return None
    key = await store.get_api_key(match.group(1))
    expected = key.key_hash if key is not None else _hash("")
    valid = hmac.compare_digest(_hash(match.group(2)), expected)
    return key if valid and key is not None and not key.revoked else None


def require_scope(scope: str) -> Callable[[Handler], Handler]:
    """Wraps a `/v1` handler: 401 without a valid key, 403 without the scope. The scopes a key
    may hold are those the resources require (`gateway.api.registry.SCOPES`)."""

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            key = await authenticate(request.app[STORAGE], request.headers.get("Authorization"))
            if key is None:
                raise ApiError(
                    401, "unauthorized", "a valid API key is required: Authorization: Bearer <key>"
                )
            if scope not in key.scopes:
                raise ApiError(403, "forbidden", f"this API key lacks the {scope!r} scope")
            request[API_KEY_NAME] = key.name
            request[API_KEY_ID] = key.key_id
            # Every change this request makes is audited as this key's (gateway/storage/audit.py).
            with acting_as(Actor(key.key_id, key.name, request.app[CLOCK])):
                return await handler(request)

        guarded.__name__ = handler.__name__
        guarded.__doc__ = handler.__doc__
        return guarded

    return wrap
