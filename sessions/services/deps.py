"""What a service needs: the storage, the SMS templates, the clock, and the policy numbers."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sessions.masking import hide_codes
from sessions.ports import Storage
from sessions.records import PRIORITY_OTP, OutboundSms
from sessions.sealing import Sealer, otp_payload
from sessions.validators import FOREIGN_ID_DIGITS, LOAN_CODE_DIGITS
from templates_sms import TemplateRegistry

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Found(Generic[R]):
    """A lookup's outcome. `record` is None both when nothing exists and when it belongs to
    another number: the caller can never tell those apart. `limited`: too many lookups."""

    record: R | None = None
    limited: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    reset_ttl_s: int = 24 * 3600
    reset_max_attempts: int = 5
    resets_per_national_id_per_day: int = 3
    resets_per_number_per_hour: int = 5
    # National-ID probing: lookups of someone's records per calling number.
    lookups_per_number_per_hour: int = 30
    # Password guessing: verifications per national ID (across all its resets) and per API key.
    verifications_per_national_id_per_hour: int = 10
    verifications_per_key_per_minute: int = 120
    max_open_complaints: int = 3
    max_unfinished_requests: int = 3  # a number's service requests not yet final
    # API recipients: prefixes allocated after the installed `phonenumbers` metadata.
    extra_mobile_prefixes: tuple[str, ...] = ()
    loans_listed: int = 9  # one keypad digit each
    # The portal's loan tracking codes: (fewest, most) digits.
    loan_code_digits: tuple[int, int] = LOAN_CODE_DIGITS
    foreign_id_digits: int = FOREIGN_ID_DIGITS  # a foreign national's identifier
    # SMS answers to one number: bounds the cost of junk, and ends a loop with an auto-responder.
    sms_answers_per_number_per_hour: int = 10
    # A message without a validity of its own (a template's `valid_for_s`, a reset's expiry) is
    # worth sending for this long after its due time; then it fails `expired`.
    message_validity_s: int = 7 * 24 * 3600
    # Verification codes (seed 001): life, checks, the resend interval per purpose (any purpose
    # not named: the default), and codes per number and client a rolling hour and day.
    verify_ttl_s: int = 600
    verify_max_checks: int = 5
    verify_resend_s: Mapping[str, int] = field(default_factory=dict)
    verify_resend_default_s: int = 120
    verify_per_hour: int = 5
    verify_per_day: int = 10
    # Send requests per API key a minute: one key cannot flood numbers with codes.
    verify_sends_per_key_per_minute: int = 120


@dataclass(frozen=True, slots=True)
class Deps:
    store: Storage
    templates: TemplateRegistry
    clock: Callable[[], float]
    policy: Policy = field(default_factory=Policy)
    # Seals the text of a message that carries a secret (a code, a password) while it waits.
    sealer: Sealer | None = None


def new_message_id() -> str:
    """An 18-digit local id: unguessable, and numeric as provider local ids expect."""
    return str(10**17 + secrets.randbelow(9 * 10**17))


def make_sms(
    deps: Deps,
    recipient: str,
    template_id: str,
    params: Mapping[str, Any],
    *,
    lang: str = "fa",
    source: str = "",
    due_at: float | None = None,
    callback_url: str | None = None,
    expires_at: float | None = None,
    otp: str | None = None,
) -> OutboundSms:
    """Renders now (a bad parameter fails the caller, not the dispatcher), sets the priority and
    the validity, and seals the text of a code or a password: only a masked text is kept. `otp`
    ("<purpose>" or "<purpose>:call") marks a verification code a provider may send through its
    OTP route: the code (`params["code"]`) is then sealed beside the text."""
    text = deps.templates.render(template_id, lang, params)
    template = deps.templates.get(template_id)
    now = deps.clock()
    due = due_at if due_at is not None else now
    if expires_at is None:
        expires_at = due + (template.valid_for_s or deps.policy.message_validity_s)
    sealed = None
    body = text
    if template.priority == PRIORITY_OTP:
        if deps.sealer is None:
            raise RuntimeError("a message that carries a secret needs a seal key")
        secret = text if otp is None else otp_payload(text, str(params["code"]))
        sealed, body = deps.sealer.seal(secret), hide_codes(text)
    return OutboundSms(
        id=new_message_id(),
        recipient=recipient,
        template_id=template_id,
        lang=lang,
        params={k: _plain(v) for k, v in params.items() if k not in SECRET_PARAMS},
        body=body,
        priority=template.priority,
        due_at=due,
        source=source,
        callback_url=callback_url,
        created_at=now,
        expires_at=expires_at,
        sealed=sealed,
        otp=otp if sealed is not None else None,
    )


# Never kept beside the message: the rendered body is all the dispatcher needs.
SECRET_PARAMS = frozenset({"password", "code", "token"})


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)
