"""The outbox's decisions, without I/O: what a provider's answer means for each claimed message.

accepted   -> `sent` (or `failed` when the answer itself says refused);
retryable  -> back to `queued` on the backoff curve: nothing was sent, any provider may take it;
account    -> back to `queued` at once with its attempt refunded: the provider is paused instead;
permanent  -> `failed` with the provider's reason;
unknown    -> `unknown`: checked with the provider it went to before anything is sent again.
A message ends only for a permanent reason or when its validity ends (`DispatchStore.expire_due`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from providers.base import (
    AmbiguousError,
    DeliveryReport,
    DeliveryState,
    OtpParams,
    OutgoingSms,
    ProviderError,
    Reconciled,
    SendResult,
)
from providers.retry import next_attempt_delay
from sessions.ports import ClaimedSms, ReportStatus, SendOutcome, StatusUpdate

# Kavenegar keeps message status for 48 hours; older ids answer "unknown".
POLL_WINDOW_S = 48 * 3600

_REPORT_STATUS: dict[DeliveryState, ReportStatus] = {
    DeliveryState.SENT: "sent",
    DeliveryState.DELIVERED: "delivered",
    DeliveryState.UNDELIVERED: "undelivered",
    DeliveryState.FAILED: "failed",
}


def outgoing(claim: ClaimedSms, text: str, token: str | None = None) -> OutgoingSms:
    """The outbox id is the local id: a provider that deduplicates on it never sends twice. A
    verification code carries its token, for a provider with an OTP template for its purpose."""
    otp = None
    if claim.otp is not None and token is not None:
        purpose, _, how = claim.otp.partition(":")
        otp = OtpParams("", token, purpose=purpose, voice=how == "call")
    return OutgoingSms(local_id=claim.id, receptor=claim.recipient, text=text, otp=otp)


def _outcome(
    claim: ClaimedSms,
    status: Literal["sent", "queued", "unknown", "failed"],
    *,
    provider: str | None = None,
    provider_message_id: str | None = None,
    provider_status: str | None = None,
    cost: int | None = None,
    error: str | None = None,
    due_at: float | None = None,
    refund: bool = False,
) -> SendOutcome:
    return SendOutcome(
        claim.id,
        claim.attempt,
        status,
        check=claim.check,
        provider=provider,
        provider_message_id=provider_message_id,
        provider_status=provider_status,
        cost=cost,
        error=error,
        due_at=due_at,
        refund=refund,
    )


def sent(claim: ClaimedSms, provider: str, result: SendResult) -> SendOutcome:
    if result.state is DeliveryState.FAILED:  # answered, but the provider refused it
        return _outcome(
            claim,
            "failed",
            provider=provider,
            provider_message_id=result.provider_message_id,
            provider_status=result.provider_status,
            cost=result.cost,
            error=f"refused by {provider} (status {result.provider_status})",
        )
    return _outcome(
        claim,
        "sent",
        provider=provider,
        provider_message_id=result.provider_message_id,
        provider_status=result.provider_status,
        cost=result.cost,
    )


def found(claim: ClaimedSms, provider: str, verdict: Reconciled) -> SendOutcome:
    """A check found the message at the provider: as if its answer had come."""
    result = SendResult(
        claim.id, verdict.provider_message_id, verdict.state, None, verdict.provider_status
    )
    return sent(claim, provider, result)


def failed(claim: ClaimedSms, error: ProviderError) -> SendOutcome:
    return _outcome(
        claim,
        "failed",
        provider=error.provider or None,
        provider_status=error.code,
        error=reason(error),
    )


def failed_for(claim: ClaimedSms, why: str) -> SendOutcome:
    return _outcome(claim, "failed", error=why)


def retry_later(
    claim: ClaimedSms,
    error: ProviderError,
    now: float,
    *,
    base_s: float,
    cap_s: float,
    rng: random.Random | None = None,
) -> SendOutcome:
    """Refused for sure: queued again on the backoff curve, for whichever provider is up then."""
    delay = next_attempt_delay(claim.attempt, base_s, cap_s, rng)
    return _outcome(
        claim,
        "queued",
        provider=error.provider or None,
        error=reason(error),
        due_at=now + delay,
    )


def elsewhere(claim: ClaimedSms, error: ProviderError, now: float) -> SendOutcome:
    """Refused for sure by a provider now marked failing: queued again at once, for the next
    provider that is up."""
    return _outcome(
        claim, "queued", provider=error.provider or None, error=reason(error), due_at=now
    )


def refund(claim: ClaimedSms, why: str, now: float) -> SendOutcome:
    """Queued again at once, its attempt not counted: the provider could not send for anyone (an
    account error), or the claim was given back unsent."""
    return _outcome(claim, "queued", error=why, due_at=now, refund=True)


def wait(claim: ClaimedSms, why: str, due_at: float) -> SendOutcome:
    """Given back unsent, its attempt not counted, to go at `due_at`."""
    return _outcome(claim, "queued", error=why, due_at=due_at, refund=True)


def absent(claim: ClaimedSms, provider: str, now: float) -> SendOutcome:
    """A check proved the provider never took it: it may go out now, through any provider."""
    return _outcome(claim, "queued", error=f"{provider} did not take it; sending again", due_at=now)


def unknown(claim: ClaimedSms, why: str, due_at: float) -> SendOutcome:
    """Its request left and no answer came (or a check could not tell): asked again at `due_at`,
    never sent again before that answer."""
    return _outcome(claim, "unknown", provider=claim.provider, error=why, due_at=due_at)


def ambiguous(provider: str, what: str) -> ProviderError:
    return AmbiguousError("internal", f"the send: {what}", provider)


def reason(error: ProviderError) -> str:
    """The provider's own words (already masked) with its code, e.g. "kavenegar 411: …"."""
    return f"{error.provider or 'provider'} {error.code}: {error.reason}"


def status_updates(reports: Sequence[DeliveryReport]) -> list[StatusUpdate]:
    """Reports that say something about our state: "queued" and "unknown" change nothing."""
    return [
        StatusUpdate(r.provider_message_id, _REPORT_STATUS[r.state], r.provider_status)
        for r in reports
        if r.state in _REPORT_STATUS and r.provider_message_id
    ]
