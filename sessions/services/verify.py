"""Verification codes for the portals (seeds 001 and 002): the gateway makes a code, sends it with
its purpose's own text, keeps only its keyed hash, and answers whether a code given back is right.

As Twilio Verify does: a verification has an id and an expiry (10 minutes), is spent once
approved, and after five wrong codes; a new one for the same number and purpose waits out the
resend interval (120 s) and voids the old one; each number gets so many codes an hour and a day
from each client, and each API key may ask for so many a minute.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sessions.records import PRIORITY_OTP, Limit, Verification, VerifyRules
from sessions.sealing import Sealer
from sessions.services.deps import Deps, make_sms


@dataclass(frozen=True, slots=True)
class Purpose:
    template_id: str  # its own text, in templates_sms/data
    code_length: int  # digits


# What a code is for. A new purpose is one line here and one template file.
PURPOSES: dict[str, Purpose] = {
    "activation": Purpose("verify_activation", 6),
    "delete_unit": Purpose("verify_delete_unit", 6),
    "password_recovery": Purpose("verify_password_recovery", 6),
}
CHANNELS = ("sms", "voice")
ID_PATTERN = r"^vf_[0-9a-f]{24}$"
_ID = re.compile(ID_PATTERN)
CODE_MAX = 64  # the longest code a check reads as typed (digits, spaces, invisible marks)


class CheckStatus(StrEnum):
    APPROVED = "approved"
    WRONG_CODE = "wrong_code"  # also the answer for an id that does not exist, or not yours
    SPENT = "spent"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Started:
    """A new verification, or the refusal: `code` (`resend_too_soon`, `rate_limited`) and the
    seconds until one may be asked for."""

    verification: Verification | None = None
    refused: str | None = None
    wait_s: int = 0
    resend_after_s: int = 0


def make_code(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


def new_verification_id() -> str:
    """`vf_` and 24 hex digits (96 bits): unguessable, so ids cannot be swept."""
    return f"vf_{secrets.token_hex(12)}"


def _bound(verification_id: str, national_id: str | None, code: str) -> str:
    """What is hashed: the code bound to its verification and to the national ID it was given
    for, so another ID, or the code of another verification, is simply a wrong code."""
    return f"{verification_id}\x1f{national_id or ''}\x1f{code}"


def _sealer(deps: Deps) -> Sealer:
    if deps.sealer is None:
        raise RuntimeError("verification codes need a seal key")
    return deps.sealer


def resend_after(deps: Deps, purpose: str) -> int:
    return deps.policy.verify_resend_s.get(purpose, deps.policy.verify_resend_default_s)


async def start(
    deps: Deps,
    *,
    client: str,
    mobile: str,
    purpose: str,
    national_id: str | None = None,
    channel: str = "sms",
    lang: str = "fa",
) -> Started:
    p = deps.policy
    kind = PURPOSES[purpose]
    sealer = _sealer(deps)
    now = deps.clock()
    code = make_code(kind.code_length)
    verification_id = new_verification_id()
    expires_at = now + p.verify_ttl_s
    sms = make_sms(
        deps,
        mobile,
        kind.template_id,
        {"code": code},
        lang=lang,
        source=client,
        expires_at=expires_at,  # never sent late: undelivered by then, it fails `expired`
        otp=purpose if channel == "sms" else f"{purpose}:call",
    )
    sms.priority = PRIORITY_OTP  # ahead of every notice, whatever the template says
    verification = Verification(
        id=verification_id,
        client=client,
        mobile=mobile,
        purpose=purpose,
        channel=channel,
        lang=lang,
        code_hash=sealer.digest(_bound(verification_id, national_id, code)),
        message_id=sms.id,
        created_at=now,
        expires_at=expires_at,
    )
    resend_s = resend_after(deps, purpose)
    rules = VerifyRules(resend_s, p.verify_per_hour, p.verify_per_day)
    refused = await deps.store.start_verification(verification, sms, rules)
    if refused is not None:
        return Started(refused=refused[0], wait_s=refused[1])
    return Started(verification=verification, resend_after_s=resend_s)


def send_limit(deps: Deps, caller: str) -> Limit:
    """Send requests per API key: the per-number caps bound what one number gets, this what
    one key can send across many numbers."""
    return Limit(f"vsend:key:{caller}", deps.policy.verify_sends_per_key_per_minute, 60)


def check_limit(deps: Deps, caller: str) -> Limit:
    """Checks per API key: five wrong codes spend one verification, and this bounds what a
    stolen key could try across many."""
    return Limit(f"vcheck:key:{caller}", deps.policy.verifications_per_key_per_minute, 60)


async def check(
    deps: Deps, client: str, verification_id: str, code: str, national_id: str | None = None
) -> CheckStatus:
    """A try is counted before its code is compared, atomically: of any number of checks at
    once only `verify_max_checks` are compared, and a right code on a counted try wins. Only the
    client that asked for a verification may check it; anything else answers as a wrong code,
    after the same hash comparison (against a dummy), and counts nothing."""
    sealer = _sealer(deps)
    now = deps.clock()
    max_checks = deps.policy.verify_max_checks
    verification_id = verification_id[:64]
    bound = _bound(verification_id, national_id, code)
    if not _ID.fullmatch(verification_id):
        # Never one of ours (and a NUL byte, say, is more than PostgreSQL will take as text).
        sealer.digest_matches(bound, _DUMMY_HASH)
        return CheckStatus.WRONG_CODE
    counted = await deps.store.count_try(verification_id, client, max_checks, now)
    if counted is None:
        sealer.digest_matches(bound, _DUMMY_HASH)
        found = await deps.store.get_verification(verification_id)
        if found is None or found.client != client:
            return CheckStatus.WRONG_CODE
        if found.status != "pending" or found.attempts >= max_checks:
            return CheckStatus.SPENT
        return CheckStatus.EXPIRED
    attempt, code_hash = counted
    if sealer.digest_matches(bound, code_hash):
        if await deps.store.approve_verification(verification_id, now):
            return CheckStatus.APPROVED
        return CheckStatus.SPENT  # another check of the right code won, or a resend voided it
    if attempt >= max_checks:
        await deps.store.spend_verification(verification_id, now)
    return CheckStatus.WRONG_CODE


_DUMMY_HASH = "0" * 64
