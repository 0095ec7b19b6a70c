"""Callbacks the gateway makes are signed, so a receiver can tell them from forgeries:

    X-Dargah-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">

with the client's signing secret, shown once by `create-api-key` (or `rotate-signing-secret`)
and sealed at rest. A receiver recomputes the HMAC over the raw body, compares in constant time
and rejects a `t` more than a few minutes old (a replay)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "X-Dargah-Signature"
PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance_s: int = 300) -> bool:
    """What a receiver does (the README shows the same in a few lines)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body).rsplit("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))
