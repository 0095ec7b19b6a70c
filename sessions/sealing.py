"""Secrets sealed at rest: a temporary password or a code waiting in the outbox, a client's
callback signing secret. Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under the
gateway's key; `MultiFernet` lets keys rotate: the first key seals, every listed key opens, and
`reseal` moves a token to the first key."""

from __future__ import annotations

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


def new_seal_key() -> str:
    return Fernet.generate_key().decode("ascii")
