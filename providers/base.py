"""The provider contract: what the dispatcher hands an adapter, and what it gets back.

Every adapter (console, Kavenegar, sms.ir, …) speaks its wire format behind this contract, so the
outbox and the dispatcher never see a URL, a status code table or a JSON envelope.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

from sessions.masking import hide_codes, mask_msisdn, mask_text
from sessions.validators import mobile as _canonical_mobile


class DeliveryState(StrEnum):
    QUEUED = "queued"  # accepted by the provider, not yet handed to the operator
    SENT = "sent"  # handed to the operator; no handset report yet
    DELIVERED = "delivered"  # final: the handset has it
    UNDELIVERED = "undelivered"  # final: the operator gave up (phone off, out of reach)
    FAILED = "failed"  # final: rejected, cancelled, blocked
    UNKNOWN = "unknown"  # the provider does not know the id (yet)


FINAL_STATES: frozenset[DeliveryState] = frozenset(
    {DeliveryState.DELIVERED, DeliveryState.UNDELIVERED, DeliveryState.FAILED}
)

ErrorKind = Literal["retryable", "account", "permanent", "unknown"]


class ProviderError(Exception):
    """A failed provider call. `kind` is the policy; `reason` is masked, safe to show.

    retryable: refused, provably (no connection made, a 5xx, throttled): the same or another
               provider may take it later;
    account:   this provider cannot send for us now (credit, key, IP, line): pause it, alert, and
               send through another one;
    permanent: this message can never go out as it is (receptor, text, template);
    unknown:   the request left and no answer came (a timeout, a connection cut while waiting):
               the provider may have sent it, so it is never sent again before the provider is
               asked what became of it.
    """

    def __init__(self, kind: ErrorKind, code: str, reason: str, provider: str = "") -> None:
        self.kind: ErrorKind = kind
        self.code = code
        self.reason = mask_text(reason)
        self.provider = provider
        # A refusal of the recipient by this route only (an SMPP SMSC's invalid destination):
        # the next route may take it; it is permanent only when every route refuses it.
        self.next_route = False
        where = f"{provider} " if provider else ""
        super().__init__(f"{where}{kind} error {code}: {self.reason}")


class RetryableError(ProviderError):
    def __init__(self, code: str, reason: str, provider: str = "") -> None:
        super().__init__("retryable", code, reason, provider)


class AccountError(ProviderError):
    def __init__(self, code: str, reason: str, provider: str = "") -> None:
        super().__init__("account", code, reason, provider)


class PermanentError(ProviderError):
    def __init__(self, code: str, reason: str, provider: str = "") -> None:
        super().__init__("permanent", code, reason, provider)


class AmbiguousError(ProviderError):
    def __init__(self, code: str, reason: str, provider: str = "") -> None:
        super().__init__("unknown", code, reason, provider)


class ClockSkew(AmbiguousError):
    """The provider's clock is too far from ours for matching by time: nothing was proved."""

    def __init__(self, skew_s: float, provider: str = "") -> None:
        self.skew_s = skew_s
        super().__init__("clock_skew", f"its clock is {skew_s:+.0f} s from ours", provider)


_ERROR_CLASSES: dict[
    ErrorKind, type[RetryableError | AccountError | PermanentError | AmbiguousError]
] = {
    "retryable": RetryableError,
    "account": AccountError,
    "permanent": PermanentError,
    "unknown": AmbiguousError,
}


def make_error(kind: ErrorKind, code: str, reason: str, provider: str = "") -> ProviderError:
    """The subclass for `kind`, so callers can `except AccountError` as well as read `.kind`."""
    return _ERROR_CLASSES[kind](code, reason, provider)


@dataclass(frozen=True, slots=True)
class OtpParams:
    """A provider-side template (Kavenegar verify/lookup, sms.ir verify) and its tokens.

    `template` names the provider's template; empty, the adapter takes the one its operator
    configured for `purpose` (and without one sends the rendered text). `voice`: read out in a
    call (Kavenegar `type=call`). Tokens are codes and passwords: they never appear in a repr.
    """

    template: str
    token: str = field(repr=False)
    token2: str | None = field(default=None, repr=False)
    token3: str | None = field(default=None, repr=False)
    purpose: str = ""
    voice: bool = False

    def tokens(self) -> dict[str, str]:
        named = {"token": self.token, "token2": self.token2, "token3": self.token3}
        return {k: v for k, v in named.items() if v is not None}


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    local_id: str  # stable across retries: the provider deduplicates on it (Kavenegar localid)
    receptor: str  # canonical 09xxxxxxxxx
    text: str  # the rendered text; used as is when the provider has no template for `otp`
    otp: OtpParams | None = None

    def __repr__(self) -> str:
        tpl = f", otp={self.otp.template!r}" if self.otp else ""
        return f"OutgoingSms({self.local_id!r}, {mask_msisdn(self.receptor)!r}{tpl})"


@dataclass(frozen=True, slots=True)
class SendResult:
    """One message's outcome inside a batch that got an answer.

    `error` is set when this message was not accepted; its `kind` tells the dispatcher what to do
    with this one message (retry later, fail over, or give up) while the others go on.
    """

    local_id: str
    provider_message_id: str | None
    state: DeliveryState
    cost: int | None
    provider_status: str
    error: ProviderError | None = None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    provider_message_id: str
    state: DeliveryState
    provider_status: str
    local_id: str | None = None


@dataclass(frozen=True, slots=True)
class InboundSms:
    provider_message_id: str
    sender: str  # canonical 09xxxxxxxxx
    receiver: str  # our line number, as the provider gives it
    text: str

    def __repr__(self) -> str:
        return (
            f"InboundSms({self.provider_message_id!r}, {mask_msisdn(self.sender)!r}, "
            f"{self.receiver!r}, <{len(self.text)} chars>)"
        )


class Verdict(StrEnum):
    ACCEPTED = "accepted"  # the provider has it: its id and state are known now
    ABSENT = "absent"  # provably never accepted: it may be sent again, here or elsewhere
    UNKNOWN = "unknown"  # the provider cannot tell (no local id, twin texts): never resent


@dataclass(frozen=True, slots=True)
class Handed:
    """A send whose answer never came, to be reconciled with the provider it went to."""

    local_id: str
    receptor: str
    text: str
    handed_at: float  # when its request left (epoch seconds)
    otp: bool = False  # sent through the provider's OTP template route


@dataclass(frozen=True, slots=True)
class Reconciled:
    local_id: str
    verdict: Verdict
    provider_message_id: str | None = None
    state: DeliveryState = DeliveryState.QUEUED
    provider_status: str = ""


@runtime_checkable
class Provider(Protocol):
    name: str
    max_batch: int  # the dispatcher never passes more messages than this to `send`
    # False where a lost send is found again by its text alone (no local id): identical texts to
    # one number are then never in flight together, or the provider's records could not tell
    # which of them it took.
    tells_twins_apart: bool

    async def send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        """One result per message, in order. Raises ProviderError when nothing was accepted:
        `AmbiguousError` when the request left and no answer came."""
        ...

    async def reconcile(
        self, items: Sequence[Handed], known_ids: frozenset[str], now: float
    ) -> list[Reconciled]:
        """What became of sends whose answer was lost, one verdict each, in order; `known_ids`
        are the provider's ids the gateway already holds for sends near these (never taken for
        one of these). Raises ProviderError when the provider could not be asked."""
        ...

    async def query_status(self, provider_message_ids: Sequence[str]) -> list[DeliveryReport]: ...

    def parse_status_callback(self, fields: Mapping[str, str]) -> list[DeliveryReport]:
        """Raises ValueError naming the missing or malformed fields."""
        ...

    def parse_inbound(self, fields: Mapping[str, str]) -> InboundSms: ...

    async def account_ok(self) -> bool: ...

    async def close(self) -> None: ...


@runtime_checkable
class InboxPoller(Protocol):
    """Providers that can hand over unread inbound SMS (a fallback when callbacks are lost)."""

    async def receive_unread(self, line_number: str) -> list[InboundSms]: ...


def canonical_msisdn(raw: str) -> str:
    """09xxxxxxxxx from any accepted shape; ValueError otherwise (the text holds no number)."""
    try:
        return _canonical_mobile(raw)
    except ValueError:
        raise ValueError("not a mobile number") from None


class CallbackFieldsError(ValueError):
    """A provider callback the gateway cannot use, with the fields at fault: answered as every
    other callback's 400 (`{"code": "missing_fields", "fields": [...], "message": ...}`)."""

    def __init__(self, code: str, fields: list[str]) -> None:
        word = "missing" if code == "missing_fields" else "malformed"
        super().__init__(f"{word} fields: {', '.join(fields)}")
        self.code = code
        self.fields = fields


# Never in an id, a number or a text a provider sends: a NUL is an error in PostgreSQL's text, a
# lone surrogate cannot be encoded for either database (a JSON body can carry both as escapes).
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def require_fields(fields: Mapping[str, str], *names: str) -> dict[str, str]:
    """The named fields, stripped; one error naming every missing one, else one naming every
    field holding a control character or a lone surrogate."""
    values = {n: (fields.get(n) or "").strip() for n in names}
    missing = [n for n, v in values.items() if not v]
    if missing:
        raise CallbackFieldsError("missing_fields", missing)
    unstorable = [n for n, v in values.items() if _UNSTORABLE.search(v)]
    if unstorable:
        raise malformed(*unstorable)
    return values


def malformed(*names: str) -> CallbackFieldsError:
    return CallbackFieldsError("invalid_fields", list(names))


def safe_preview(text: str) -> str:
    """A message text fit for a log line: masked, and every word with a digit in it hidden."""
    return hide_codes(text)


def rejected(msg: OutgoingSms, exc: ProviderError) -> SendResult:
    """The result of one message the provider refused (or that shared a failed call)."""
    return SendResult(msg.local_id, None, DeliveryState.FAILED, None, exc.code, exc)


SendCall = Callable[[Sequence[OutgoingSms]], Awaitable[dict[str, SendResult]]]


def not_sent(provider: str) -> RetryableError:
    """For a message whose call was never made (an earlier call of its batch failed): provably
    not sent, so it may go later, through any provider."""
    return RetryableError("not_sent", "not sent: an earlier call of its batch failed", provider)


def _for_the_rest(error: ProviderError) -> ProviderError:
    # A refusal for now (throttled, an account fault) holds for the calls not made as well; an
    # unknown outcome (or a refusal of that one message) does not: they never left.
    return error if error.kind in ("retryable", "account") else not_sent(error.provider)


async def in_turn(
    calls: Sequence[tuple[Sequence[OutgoingSms], Callable[[], Awaitable[dict[str, SendResult]]]]],
) -> dict[str, SendResult]:
    """The calls one batch needs (a plain batch, each OTP message alone), one after another.
    A failure of the batch's only call is the whole request's; otherwise the failed call's
    messages carry its error and the calls after it are not made."""
    out: dict[str, SendResult] = {}
    for n, (msgs, call) in enumerate(calls):
        try:
            out.update(await call())
        except ProviderError as exc:
            if len(calls) == 1:
                raise
            out.update((m.local_id, rejected(m, exc)) for m in msgs)
            rest = _for_the_rest(exc)
            out.update(
                (m.local_id, rejected(m, rest)) for later, _ in calls[n + 1 :] for m in later
            )
            break
    return out


async def one_by_one(send: SendCall, msgs: Sequence[OutgoingSms]) -> dict[str, SendResult]:
    """After a batch was refused as a whole for a permanent reason (one bad number refuses the
    array): each message alone, so only the bad ones fail. Safe because a refused call sent
    nothing (and Kavenegar deduplicates on the local id besides)."""
    out: dict[str, SendResult] = {}
    for i, m in enumerate(msgs):
        try:
            out.update(await send([m]))
        except ProviderError as one:
            if one.kind == "permanent":
                out[m.local_id] = rejected(m, one)
                continue
            if not out:
                raise  # nothing taken yet: the whole call failed as one
            # Some were taken: they keep their results; this one carries the error (refused, or
            # unknown where the request left); the rest, not tried now, are refused for now.
            out[m.local_id] = rejected(m, one)
            for rest in msgs[i + 1 :]:
                out[rest.local_id] = rejected(rest, _for_the_rest(one))
            break
    return out
