"""Password reset with tracking codes (seeds 002 and 003).

A caller who gives a national ID gets, if an activated registration has that ID *and* the caller's
number, a new temporary password and an 8-digit tracking code by SMS to that number only; every
earlier reset stops working. What the caller is told never depends on whether anything matched.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import secrets
import string
from collections.abc import Sequence
from enum import StrEnum

from sessions.records import Limit, PasswordReset, limit_subject
from sessions.services.deps import Deps, make_sms
from sessions.services.registration import NATIONAL_ID, Identifier, find

# Letters and digits a person reads off a small screen without confusing them (no 0/O, 1/l/I).
_UPPER = "".join(c for c in string.ascii_uppercase if c not in "IO")
_LOWER = "".join(c for c in string.ascii_lowercase if c not in "lo")
_DIGITS = "23456789"
PASSWORD_LENGTH = 10
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class ResetOutcome(StrEnum):
    SENT = "sent"
    NO_MATCH = "no_match"  # told to the caller exactly as SENT
    LIMITED = "limited"


def make_password(national_id: str) -> str:
    """The password policy of seed 002: Latin letters and digits, ≥ 8, upper, lower and digit,
    not containing the national ID."""
    alphabet = _UPPER + _LOWER + _DIGITS
    while True:
        chars = [secrets.choice(_UPPER), secrets.choice(_LOWER), secrets.choice(_DIGITS)]
        chars += [secrets.choice(alphabet) for _ in range(PASSWORD_LENGTH - 3)]
        secrets.SystemRandom().shuffle(chars)
        password = "".join(chars)
        if national_id not in password:
            return password


def meets_policy(password: str, national_id: str) -> bool:
    return (
        len(password) >= 8
        and password.isascii()
        and password.isalnum()
        and any(c.isupper() for c in password)
        and any(c.islower() for c in password)
        and any(c.isdigit() for c in password)
        and national_id not in password
    )


def make_tracking_code() -> str:
    return str(10_000_000 + secrets.randbelow(90_000_000))


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest, bytes.fromhex(digest_hex))


def number_limit(deps: Deps, msisdn: str) -> Limit:
    """Every request counts against the caller's number: it bounds probing and SMS."""
    subject = limit_subject(msisdn)
    return Limit(f"reset:msisdn:{subject}", deps.policy.resets_per_number_per_hour, 3600)


def national_id_limit(deps: Deps, national_id: str) -> Limit:
    """Only resets actually made count against the national ID, so a stranger asking for
    someone's ID from another number cannot use up the owner's daily resets."""
    subject = limit_subject(national_id)
    return Limit(f"reset:nid:{subject}", deps.policy.resets_per_national_id_per_day, 24 * 3600)


async def request_reset(
    deps: Deps, ident: Identifier | Sequence[Identifier] | str, msisdn: str, lang: str, source: str
) -> ResetOutcome:
    """A new password for the activated registration this identifier (a national ID, a foreign
    national's identifier or an insurance number) names with the caller's number."""
    now = deps.clock()
    if await deps.store.hit_limits([number_limit(deps, msisdn)], now) is not None:
        return ResetOutcome.LIMITED
    if isinstance(ident, str):
        ident = Identifier(NATIONAL_ID, ident)
    record = await find(deps, ident, msisdn)
    if record is None or record.status != "activated":
        return ResetOutcome.NO_MATCH
    national_id = record.national_id  # the account's key: its national ID or foreign ID
    # A match means the caller holds the registered number: telling them of the limit reveals
    # nothing they do not know.
    if await deps.store.hit_limits([national_id_limit(deps, national_id)], now) is not None:
        return ResetOutcome.LIMITED
    password = make_password(national_id)
    tracking = make_tracking_code()
    password_hash = await asyncio.to_thread(hash_password, password)
    sms = make_sms(
        deps,
        msisdn,
        "password_reset",
        {"tracking_code": tracking, "password": password},
        lang=lang,
        source=source,
    )
    reset = PasswordReset(
        national_id=national_id,
        mobile=msisdn,
        tracking_code=tracking,
        password_hash=password_hash,
        created_at=now,
        expires_at=now + deps.policy.reset_ttl_s,
    )
    await deps.store.create_reset(reset, [sms])
    return ResetOutcome.SENT


def verify_limits(deps: Deps, national_id: str, caller: str) -> list[Limit]:
    """Five wrong passwords spend one reset; these bound the guessing across resets (per
    national ID) and across citizens (per API key, should a key be stolen)."""
    p = deps.policy
    return [
        Limit(
            f"verify:nid:{limit_subject(national_id)}",
            p.verifications_per_national_id_per_hour,
            3600,
        ),
        Limit(f"verify:key:{caller}", p.verifications_per_key_per_minute, 60),
    ]


async def verify_allowed(deps: Deps, national_id: str, caller: str) -> int | None:
    """Counts one verification; None when it may go ahead, else the seconds until it may."""
    now = deps.clock()
    full = await deps.store.hit_limits(verify_limits(deps, national_id, caller), now)
    if full is None:
        return None
    return max(1, math.ceil(full.window_s - now % full.window_s))


async def verify(deps: Deps, national_id: str, password: str) -> bool:
    """Only the latest, unexpired, unspent reset is valid; wrong passwords count toward a limit."""
    reset = await deps.store.latest_reset(national_id)
    if reset is None or reset.status != "active" or reset.expires_at <= deps.clock():
        # Same work as a real check, so the answer's timing does not tell whether a reset exists.
        await asyncio.to_thread(password_matches, password, _DUMMY_HASH)
        return False
    ok = await asyncio.to_thread(password_matches, password, reset.password_hash)
    if not ok:
        await deps.store.count_reset_failure(reset.id, deps.policy.reset_max_attempts)
    return ok


_DUMMY_HASH = hash_password("unused-placeholder", salt=b"\x00" * 16)
