"""Secrets sealed at rest: a temporary password or a code waiting in the outbox, a client's
callback signing secret. Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under the
gateway's key; `MultiFernet` lets keys rotate: the first key seals, every listed key opens, and
`reseal` moves a token to the first key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealBroken(Exception):
    """A sealed value that no configured key opens (a lost or wrong key, or a damaged value)."""


class Sealer:
    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ValueError("sealing needs at least one key")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except ValueError:
            raise ValueError("a seal key is not 32 url-safe base64-encoded bytes") from None
        # Keys for the hashes of short secrets (a 6-digit code has a million values: an unkeyed
        # hash in a leaked database falls at once). Derived, so no seal key is used twice.
        self._mac_keys = [
            hmac.new(base64.urlsafe_b64decode(key), _MAC_CONTEXT, hashlib.sha256).digest()
            for key in keys
        ]

    def seal(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode("utf-8"))

    def open(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(token)).decode("utf-8")
        except InvalidToken:
            raise SealBroken("no configured seal key opens this value") from None

    def reseal(self, token: bytes) -> bytes:
        """The same secret under the first (newest) key: what key rotation runs over old rows."""
        try:
            return self._fernet.rotate(bytes(token))
        except InvalidToken:
            raise SealBroken("no configured seal key opens this value") from None

    def digest(self, data: str) -> str:
        """A keyed hash (HMAC-SHA256) under the newest key, hex."""
        return hmac.new(self._mac_keys[0], data.encode("utf-8"), hashlib.sha256).hexdigest()

    def digest_matches(self, data: str, stored: str) -> bool:
        """Whether `stored` is the keyed hash of `data` under any configured key (a hash made
        before a rotation still matches), each compared in constant time; every key is tried."""
        found = False
        for key in self._mac_keys:
            mine = hmac.new(key, data.encode("utf-8"), hashlib.sha256).hexdigest()
            found |= hmac.compare_digest(mine, stored)
        return found


_MAC_CONTEXT = b"dargah: keyed hashes of short secrets"


def otp_payload(text: str, token: str) -> str:
    """What is sealed for a message a provider may send through its OTP route: the rendered
    text (for a plain SMS) and the code alone (for the provider's template)."""
    return json.dumps({"text": text, "token": token}, ensure_ascii=False)


def read_otp_payload(opened: str) -> tuple[str, str]:
    """(text, token) from an opened `otp_payload`."""
    data = json.loads(opened)
    return str(data["text"]), str(data["token"])


def new_seal_key() -> str:
    return Fernet.generate_key().decode("ascii")
