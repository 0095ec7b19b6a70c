"""The outbox's decisions, without I/O: what a provider's answer means for each claimed message.

retryable -> back to `queued` after the backoff curve, until `max_attempts` claims were spent;
permanent -> `failed` with the provider's reason; account -> the dispatcher's business (fail over).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from providers.base import DeliveryReport, DeliveryState, OutgoingSms, ProviderError, SendResult
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


def outgoing(claim: ClaimedSms) -> OutgoingSms:
    # The outbox id is the local id: a resend after a crash or a timeout is deduplicated.
    return OutgoingSms(local_id=claim.id, receptor=claim.recipient, text=claim.body)


def sent(claim: ClaimedSms, provider: str, result: SendResult) -> SendOutcome:
    return SendOutcome(
        claim.id,
        claim.attempt,
        "sent",
        provider=provider,
        provider_message_id=result.provider_message_id,
        provider_status=result.provider_status,
        cost=result.cost,
    )


def refused(claim: ClaimedSms, provider: str, result: SendResult) -> SendOutcome:
    """The provider answered with a failed status (Kavenegar 6, 13, 14): final, keep its id."""
    return SendOutcome(
        claim.id,
        claim.attempt,
        "failed",
        provider=provider,
        provider_message_id=result.provider_message_id,
        provider_status=result.provider_status,
        cost=result.cost,
        error=f"refused by {provider} (status {result.provider_status})",
    )


def failed(claim: ClaimedSms, error: ProviderError) -> SendOutcome:
    return SendOutcome(
        claim.id,
        claim.attempt,
        "failed",
        provider=error.provider or None,
        provider_status=error.code,
        error=_reason(error),
    )


def retry_later(
    claim: ClaimedSms,
    error: ProviderError,
    now: float,
    *,
    max_attempts: int,
    base_s: float,
    cap_s: float,
    rng: random.Random | None = None,
) -> SendOutcome:
    """Queued again on the backoff curve; failed once the claims are spent."""
    if claim.attempt >= max_attempts:
        reason = f"gave up after {claim.attempt} attempts: {_reason(error)}"
        return SendOutcome(
            claim.id, claim.attempt, "failed", provider=error.provider or None, error=reason
        )
    delay = next_attempt_delay(claim.attempt, base_s, cap_s, rng)
    return SendOutcome(
        claim.id,
        claim.attempt,
        "queued",
        provider=error.provider or None,
        error=_reason(error),
        due_at=now + delay,
    )


def _reason(error: ProviderError) -> str:
    """The provider's own words (already masked) with its code, e.g. "kavenegar 411: …"."""
    return f"{error.provider or 'provider'} {error.code}: {error.reason}"


def status_updates(reports: Sequence[DeliveryReport]) -> list[StatusUpdate]:
    """Reports that say something about our state: "queued" and "unknown" change nothing."""
    return [
        StatusUpdate(r.provider_message_id, _REPORT_STATUS[r.state], r.provider_status)
        for r in reports
        if r.state in _REPORT_STATUS and r.provider_message_id
    ]
