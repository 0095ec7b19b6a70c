"""The records the services answer from, as plain data; their allowed values are literal tables."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

REGISTRATION_STATUSES = ("in_review", "activated", "approved_visit_branch", "identity_mismatch")
LOAN_STAGES = (
    "submitted",
    "agency_review",
    "bank_review",
    "bank_no_credit",
    "approved",
    "paid",
    "rejected",
)
GENDERS = ("male", "female", "unknown")

# Priorities of outbound SMS: codes and passwords before transactional notices before bulk.
PRIORITY_OTP, PRIORITY_TRANSACTIONAL, PRIORITY_BULK = 0, 1, 2


@dataclass(slots=True)
class Registration:
    TABLE: ClassVar[str] = "registrations"
    KEY: ClassVar[str] = "national_id"

    national_id: str
    mobile: str
    status: str
    first_name: str = ""
    last_name: str = ""
    gender: str = "unknown"
    # Seed 003: a foreign national's identifier (then also the record's key, in `national_id`)
    # and the insurance number, when the record has one.
    foreign_id: str = ""
    insurance_number: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(slots=True)
class Loan:
    TABLE: ClassVar[str] = "loans"
    KEY: ClassVar[str] = "tracking_code"

    tracking_code: str
    national_id: str
    mobile: str
    stage: str
    bank: str = ""
    branch: str = ""
    amount: int = 0
    bank_en: str = ""  # the English names, for English screens and SMS
    branch_en: str = ""
    city: str = ""  # the applicant's: where the shortest branch queues are looked for
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(slots=True)
class BranchQueue:
    """A bank branch and the applications waiting in its queue (seed 000), kept current by the
    portal; `key` is the bank and branch names joined by a separator no name may hold."""

    TABLE: ClassVar[str] = "branch_queues"
    KEY: ClassVar[str] = "key"

    key: str
    bank: str
    branch: str
    city: str
    queue: int
    bank_en: str = ""
    branch_en: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0


def branch_key(bank: str, branch: str) -> str:
    return f"{bank}\x1f{branch}"  # a control character: refused in every name


@dataclass(slots=True)
class Complaint:
    TABLE: ClassVar[str] = "complaints"
    KEY: ClassVar[str] = "ticket"

    ticket: str
    msisdn: str
    subject: str
    status: str = "open"
    workshop_code: str = ""
    loan_code: str = ""
    body: str = ""
    channel: str = "ussd"
    answer: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0


# Kartaban service requests (seed 004): the life cycle, its final states, the services offered
# and the kinds of delivery.
REQUEST_STATUSES = (
    "submitted",
    "in_review",
    "referred",
    "invoiced",
    "paid",
    "delivered",
    "cancelled",
)
REQUEST_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "submitted": ("in_review", "cancelled"),
    "in_review": ("referred", "invoiced", "cancelled"),
    "invoiced": ("paid", "cancelled"),
    "paid": ("delivered",),
    "referred": (),
    "delivered": (),
    "cancelled": (),
}
REQUEST_FINAL = tuple(s for s, nexts in REQUEST_TRANSITIONS.items() if not nexts)
REQUEST_SERVICES = ("labour_law_consultation", "payslip", "payroll", "other")
DELIVERY_KINDS = ("phone_consultation", "written_consultation", "calculation_file", "other")


@dataclass(slots=True)
class ServiceRequest:
    TABLE: ClassVar[str] = "service_requests"
    KEY: ClassVar[str] = "number"

    number: str
    client: str  # the API client that created it; "" for a citizen's own (USSD, SMS)
    national_id: str
    mobile: str
    services: str  # comma-separated REQUEST_SERVICES
    description: str = ""
    status: str = "submitted"
    amount: int = 0  # the invoice, in rials
    payment_ref: str = ""
    delivery: str = ""  # one of DELIVERY_KINDS, once delivered
    note: str = ""  # staff's note when referred to the Q&A
    channel: str = "api"
    lang: str = "fa"  # of its SMS
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(slots=True)
class PasswordReset:
    national_id: str
    mobile: str
    tracking_code: str
    password_hash: str
    created_at: float
    expires_at: float
    status: str = "active"
    attempts: int = 0
    id: int = 0


@dataclass(slots=True)
class OutboundSms:
    """One SMS owed to a number, rendered when it is owed so its text never changes afterwards."""

    id: str
    recipient: str
    template_id: str
    lang: str
    params: dict[str, Any]
    body: str
    priority: int
    due_at: float
    source: str = ""
    callback_url: str | None = None
    created_at: float = 0.0
    # Past this the message is no longer worth sending (a code, a reset password, a stale notice).
    expires_at: float = 0.0
    # The text of a message that carries a secret, sealed; `body` then holds a masked text.
    sealed: bytes | None = None
    # A verification code a provider may send through its OTP route: "<purpose>" or
    # "<purpose>:call" (a voice call); `sealed` then holds `sealing.otp_payload`.
    otp: str | None = None


@dataclass(slots=True)
class Verification:
    """A code sent to a mobile for one purpose, checked by the client that asked for it. Only
    its keyed hash is kept (bound to the id and the national ID, when one was given)."""

    id: str
    client: str
    mobile: str
    purpose: str
    channel: str  # sms | voice
    lang: str
    code_hash: str
    message_id: str  # the outbox message that carries it
    created_at: float
    expires_at: float
    status: str = "pending"  # pending | approved | spent (wrong tries) | voided (a resend)
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class VerifyRules:
    """When a new code may go to a number: not within `resend_after_s` of the last one for the
    same purpose, and at most so many a rolling hour and day."""

    resend_after_s: int
    per_hour: int
    per_day: int


@dataclass(slots=True)
class ApiKey:
    key_id: str
    name: str
    key_hash: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    created_at: float = 0.0
    revoked: bool = False


def limit_subject(value: str) -> str:
    """A rate-limit counter's key names a national ID or a number by a digest, never in clear."""
    return hashlib.sha256(value.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `limit` events per fixed window of `window_s` seconds for `key`."""

    key: str
    limit: int
    window_s: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """One recipient's answer: an id when accepted, else a code and a reason."""

    recipient: str
    id: str | None = None
    code: str | None = None
    reason: str | None = None
    retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class Result:
    outcomes: list[Outcome]
    replayed: bool = False  # the answer of an earlier request with the same idempotency key

    def to_json(self) -> str:
        return json.dumps([asdict(o) for o in self.outcomes], ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Result:
        return cls([Outcome(**o) for o in json.loads(raw)], replayed=True)
