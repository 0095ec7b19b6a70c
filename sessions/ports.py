"""What the core needs from the outside world, as interfaces; the storage layer implements them.

The core (engine, flows, services) calls these and never writes SQL, so a PostgreSQL implementation
can stand beside the SQLite one without touching a flow. A record change that owes SMS takes a
`Notify` function: the storage calls it inside the transaction with the old and new record and
writes what it returns to the outbox in that same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, TypeVar

from sessions.records import (
    ApiKey,
    Limit,
    OutboundSms,
    Outcome,
    PasswordReset,
    Result,
    Verification,
    VerifyRules,
)

R = TypeVar("R")
Notify = Callable[[R | None, R], list[OutboundSms]]


class Busy(TimeoutError):
    """The database, or one session's lock, was held elsewhere for longer than any hop takes.

    Raised by every backend alike; nothing was written. Routes answer it politely: the "busy"
    screen on USSD, `503 busy` with `Retry-After` on the API. Worth retrying, unlike a fault."""


class KeyTaken(Exception):
    """A new record's key (a complaint's ticket) belongs to another record already; nothing was
    written."""

    def __init__(self, key: str) -> None:
        super().__init__(f"record key {key} is taken")
        self.key = key


@dataclass(slots=True)
class StoredSession:
    key: str  # "<dialect>:<operator session id>"
    msisdn: str
    state: dict[str, Any]
    status: str  # active | interrupted | ended
    last_hop_key: str | None
    last_reply_text: str
    last_reply_end: bool
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """What a hop reads as it takes its session's lock, in one read. `previous` (the caller's
    newest open session) and `lang` are read only for a new session's first hop (`lang_read`);
    `previous` is None when `stored` is not."""

    stored: StoredSession | None
    previous: StoredSession | None = None
    lang: str | None = None
    lang_read: bool = False


class SessionStore(Protocol):
    async def get_session(self, key: str) -> StoredSession | None: ...

    async def latest_open_session(self, msisdn: str, since: float) -> StoredSession | None:
        """The newest session of this number, updated at or after `since`, not ended."""
        ...

    async def put_session(self, session: StoredSession) -> None: ...

    async def set_session_status(self, key: str, status: str) -> None: ...

    async def purge_sessions(self, updated_before: float) -> int: ...

    async def caller_language(self, msisdn: str) -> str | None:
        """The language this number last chose on the main menu (None: never chose)."""
        ...

    async def remember_language(self, msisdn: str, lang: str, now: float) -> None: ...

    def locked_session(
        self, key: str, msisdn: str, since: float | None
    ) -> AbstractAsyncContextManager[OpenedSession]:
        """Holds the session's lock around one hop (hops of one session run one at a time, also
        across gateway processes sharing the database) and yields what the hop reads first, read
        once the lock is held: the session and, with `since` (a new session's first hop), the
        caller's newest open session updated at or after `since` and the caller's language."""
        ...


class StoredRecord(Protocol):
    """A record kept by the generic record store: a dataclass naming its table and key column,
    its `created_at` and, as its last field, its `updated_at` (a change of nothing else is no
    change)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    TABLE: ClassVar[str]
    KEY: ClassVar[str]
    created_at: float
    updated_at: float


Rec = TypeVar("Rec", bound=StoredRecord)


@dataclass(frozen=True, slots=True)
class Cap:
    """At most `limit` records matching `where` whose status is not one of `done` (a number's
    unfinished complaints): a filing beyond it is refused, also when two arrive at once."""

    where: Mapping[str, object]
    limit: int
    done: tuple[str, ...] = ()


class RecordStore(Protocol):
    """Every record-backed service stores through these five calls; a new service declares its
    record (`TABLE`, `KEY`) and its migration, and needs no store code of its own."""

    async def get_record(self, kind: type[Rec], key: str) -> Rec | None: ...

    async def put_record(self, record: Rec, notify: Notify[Rec]) -> tuple[Rec, bool]:
        """Inserts or replaces; returns the stored record and whether it was created. A record
        equal but for `updated_at` changes nothing and owes nothing."""
        ...

    async def create_record(
        self, record: Rec, notify: Notify[Rec], cap: Cap | None = None
    ) -> Rec | None:
        """Inserts a new record unless `cap` is full (None). Never overwrites: raises `KeyTaken`
        when another record has this key."""
        ...

    async def change_record(
        self, kind: type[Rec], key: str, change: Callable[[Rec], Rec], notify: Notify[Rec]
    ) -> Rec | None:
        """Reads the record, applies `change` (a copy in, the new record out; it may raise to
        refuse, and nothing is written) and writes the result with what it owes, in one
        transaction; None when there is no such record."""
        ...

    async def find_records(
        self,
        kind: type[Rec],
        where: Mapping[str, object],
        *,
        order: str = "created_at",
        newest_first: bool = False,
        since: float | None = None,
        until: float | None = None,
        after: tuple[float, str] | None = None,
        limit: int = 50,
    ) -> list[Rec]:
        """Records equal to `where` (a tuple value: any of its values), ordered by `order` then
        key; `since`/`until` bound `order` (until excluded), `after` continues a page from its
        last (order value, key)."""
        ...

    async def count_records(
        self, kind: type[Rec], where: Mapping[str, object], done: tuple[str, ...] = ()
    ) -> int:
        """Records equal to `where` whose status is not one of `done`."""
        ...


class ResetStore(Protocol):
    async def create_reset(self, reset: PasswordReset, sms: Sequence[OutboundSms]) -> None:
        """Stores the new reset, supersedes every earlier one of that national ID, enqueues sms."""
        ...

    async def latest_reset(self, national_id: str) -> PasswordReset | None: ...

    async def count_reset_failure(self, reset_id: int, max_attempts: int) -> None:
        """Counts a wrong password; after `max_attempts` of them the reset is spent."""
        ...


class VerificationStore(Protocol):
    async def start_verification(
        self, verification: Verification, sms: OutboundSms, rules: VerifyRules
    ) -> tuple[str, int] | None:
        """In one transaction, serialised per number: refuses with (code, seconds to wait) when
        this client's last code to the number for this purpose is younger than
        `rules.resend_after_s` (`resend_too_soon`) or the client had its hour's or day's codes to
        the number (`rate_limited`); else
        voids this client's pending codes for the number and purpose (cancelling their SMS still
        waiting), stores the verification and enqueues its SMS."""
        ...

    async def get_verification(self, verification_id: str) -> Verification | None: ...

    async def count_try(
        self, verification_id: str, client: str, max_attempts: int, now: float
    ) -> tuple[int, str] | None:
        """Counts one try at this client's pending, unexpired verification with tries left, in
        one statement, and answers (the try's number, the code's hash); None when no try may be
        counted (not found, another client's, decided, out of tries or expired)."""
        ...

    async def approve_verification(self, verification_id: str, now: float) -> bool:
        """Approves a verification whose counted try gave the right code; False when it was
        approved already or voided by a resend (two right codes at once: one wins)."""
        ...

    async def spend_verification(self, verification_id: str, now: float) -> None:
        """Spends a pending verification whose last try was wrong."""
        ...

    async def verification_counts(self, now: float) -> dict[tuple[str, str], int]:
        """(purpose, outcome) -> verifications: `sent`, `approved`, `expired` (never approved in
        time), `spent` (by wrong tries) and `voided` (by a resend)."""
        ...


class LimitStore(Protocol):
    async def hit_limits(self, limits: Sequence[Limit], now: float) -> Limit | None:
        """Counts one event against every limit, atomically; returns the first one already full
        (and then counts nothing)."""
        ...


class KeyStore(Protocol):
    async def add_api_key(self, key: ApiKey) -> None: ...

    async def get_api_key(self, key_id: str) -> ApiKey | None: ...

    async def has_api_key_named(self, name: str) -> bool:
        """Whether any key (revoked or not) was created for this client."""
        ...

    async def revoke_api_key(self, key_id: str) -> bool:
        """Refuses the key from now on; False when no such key exists."""
        ...


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change in the audit trail (gateway/storage/audit.py): who, when, what, masked."""

    id: str
    created_at: float
    key_id: str  # the API key's id; "" for the command line
    client: str  # the key's name, or "operator"
    action: str  # `<object>.<verb>`: complaints.changed
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class SigningSecretStore(Protocol):
    async def set_signing_secret(
        self, client: str, sealed: bytes, now: float, *, replace: bool
    ) -> bool:
        """Stores a client's sealed callback signing secret; an existing one is kept unless
        `replace`. True when this one was stored."""
        ...

    async def signing_secret(self, client: str) -> bytes | None: ...

    async def reseal_signing_secrets(self, reseal: Callable[[bytes], bytes]) -> int: ...


class AuditStore(Protocol):
    async def audit_event(
        self, action: str, target: str, after: object = None, *, personal_target: bool = True
    ) -> None:
        """An audit entry for an act that changes nothing else, in its own transaction."""
        ...

    async def find_audit(
        self,
        *,
        client: str | None = None,
        key_id: str | None = None,
        action: str | None = None,
        since: float | None = None,
        until: float | None = None,
        after: tuple[float, str] | None = None,
        limit: int = 50,
    ) -> list[AuditEntry]:
        """Entries newest first; `action` whole or an object's prefix (`complaints.`)."""
        ...


@dataclass(frozen=True, slots=True)
class ConsoleSms:
    """A text the console provider "delivered": kept for the web phone's inbox, sealed."""

    recipient: str
    local_id: str
    message_id: str
    sealed: bytes
    received_at: float


class ConsoleInboxStore(Protocol):
    async def keep_console_sms(self, messages: Sequence[ConsoleSms], keep_after: float) -> None:
        """Stores what the console provider took, and drops what was received before
        `keep_after`."""
        ...

    async def console_sms(self, recipient: str, limit: int) -> list[ConsoleSms]:
        """The newest texts to this number, newest first."""
        ...


@dataclass(frozen=True, slots=True)
class OpsSession:
    """A signed-in operator: the cookie's token only as its hash, and its forms' CSRF token."""

    token_hash: str
    key_id: str
    client: str
    csrf: str
    created_at: float
    last_seen_at: float


class ConsoleStore(Protocol):
    """The operator's console (gateway/routes/ops.py)."""

    async def add_ops_session(self, session: OpsSession) -> None: ...

    async def touch_ops_session(
        self, token_hash: str, now: float, idle_s: float
    ) -> OpsSession | None: ...

    async def end_ops_session(self, token_hash: str) -> None: ...

    async def outbox_overview(self, now: float) -> dict[str, Any]: ...

    async def find_messages(self, term: str, recipient: str | None) -> list[dict[str, Any]]: ...

    async def message_timeline(
        self, message_id: str
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]: ...

    async def requeue_message(self, message_id: str, now: float, validity_s: float) -> bool: ...

    async def cancel_message(self, message_id: str, now: float) -> bool: ...

    async def list_api_keys(self) -> list[ApiKey]: ...


class OutboxStore(Protocol):
    async def enqueue(self, messages: Sequence[OutboundSms]) -> None: ...

    async def reseal(self, reseal: Callable[[bytes], bytes], batch: int = 500) -> int:
        """Passes every sealed value through `reseal` (a key rotation); how many there were."""
        ...

    async def outbox_messages(self, recipient: str | None = None) -> list[dict[str, Any]]:
        """Messages as rows (newest last), for the API and the tests."""
        ...


# --- the outbox dispatcher's port -------------------------------------------------------------

OutboxStatus = Literal[
    "queued", "sending", "unknown", "sent", "delivered", "undelivered", "failed", "cancelled"
]
ReportStatus = Literal["sent", "delivered", "undelivered", "failed"]
ProviderHealth = Literal["active", "paused", "failing"]


@dataclass(frozen=True, slots=True)
class ClaimedSms:
    """A message leased to one dispatcher pass.

    A send claim (status `sending`) goes to `provider`; `attempt` counts it (1 for the first) and is
    its token. A check claim (status `unknown`: a send whose answer never came) asks `provider`
    what became of the send that left at `handed_at`; `attempt` is then the count of checks."""

    id: str  # also the provider's local id: a resend with it is not a second SMS
    recipient: str
    body: str  # the text, or for a message that carries a secret a masked text
    sealed: bytes | None  # the secret text, sealed (sessions/sealing.py)
    priority: int
    template_id: str
    attempt: int
    provider: str
    handed_at: float
    expires_at: float
    check: bool = False
    otp: str | None = None  # a verification code: "<purpose>" or "<purpose>:call"


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What one claim came to, written only while that claim still holds (a late writer changes
    nothing): `sent`; `queued` again at `due_at` (`refund`: the attempt did not count, as after an
    account error); `unknown` (the request left, no answer came), to be checked at `due_at`; or
    `failed` for good with its reason."""

    id: str
    attempt: int
    status: Literal["sent", "queued", "unknown", "failed"]
    check: bool = False  # the claim was a check (status `unknown`), not a send
    provider: str | None = None
    provider_message_id: str | None = None
    provider_status: str | None = None
    cost: int | None = None
    error: str | None = None
    due_at: float | None = None
    refund: bool = False


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery report, by the provider's message id, in outbox terms."""

    provider_message_id: str
    status: ReportStatus
    provider_status: str


@dataclass(frozen=True, slots=True)
class ProviderState:
    """A provider's health as every dispatcher sees it; `manual` pauses stay until resumed by
    hand, and an automatic change never lifts them."""

    name: str
    state: ProviderHealth
    reason: str = ""
    manual: bool = False
    since: float = 0.0
    probe_at: float | None = None
    failures: int = 0


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    recipient: str
    template_id: str
    status: OutboxStatus
    error: str | None
    attempts: int
    provider: str | None
    created_at: float
    sent_at: float | None
    final_at: float | None


class DispatchStore(Protocol):
    async def claim_due(
        self,
        now: float,
        limit: int,
        lease_s: float,
        provider: str,
        route: Callable[[str], str | None] | None = None,
    ) -> list[ClaimedSms]:
        """Leases queued messages due by `now` to a send through `provider`, in priority, then
        due, then queue order, counting the attempt; one statement. With `route`, each message
        goes to the provider it names for its recipient (None: `provider`), in the same
        transaction."""
        ...

    async def reassign(self, message_id: str, attempt: int, provider: str) -> bool:
        """Moves a message claimed by `attempt` to `provider` before it is handed over."""
        ...

    async def claim_unknown(
        self, now: float, limit: int, lease_s: float, exclude: Collection[str] = ()
    ) -> list[ClaimedSms]:
        """Leases messages whose outcome must be checked: `unknown` ones due for a check, and
        `sending` ones whose lease ran out (their dispatcher died mid-send: the request may have
        left), never the `exclude`d ids. Counts the check; its outcome is recorded only while its
        lease holds, and the message does not expire under it."""
        ...

    async def twins_in_flight(
        self, provider: str, ids: Sequence[str], recipients: Sequence[str]
    ) -> set[tuple[str, str]]:
        """(recipient, body) of messages to these numbers, other than `ids` and other than
        verification codes, on their way to `provider` or with their outcome there unknown."""
        ...

    async def set_clock_skew(self, provider: str, skew_s: float | None, now: float) -> None:
        """Records a provider's clock found too far from ours, or (None) back within bound."""
        ...

    async def clock_skews(self) -> dict[str, float]:
        """Providers whose clock is too far from ours, and by how many seconds."""
        ...

    async def record_outcomes(self, outcomes: Sequence[SendOutcome], now: float) -> int:
        """Writes what claims came to; a sealed text is dropped once the message is sent or
        final. A `sent` outcome applies a delivery report that arrived before it."""
        ...

    async def expire_due(self, now: float, limit: int) -> int:
        """Fails messages whose validity ended while they waited to go (`expired`) or while
        their outcome was unknown (`unknown_outcome`)."""
        ...

    async def provider_ids_near(
        self, provider: str, recipients: Sequence[str], since: float, until: float
    ) -> set[str]:
        """The provider's message ids already known for sends to these numbers in this window."""
        ...

    async def apply_reports(
        self, provider: str, reports: Sequence[StatusUpdate], now: float
    ) -> int:
        """Idempotent: counts the messages changed; a final state is never downgraded; a report
        for an id not known yet is kept until its send is recorded."""
        ...

    async def claim_polls(
        self, now: float, sent_before: float, sent_after: float, limit: int
    ) -> dict[str, list[str]]:
        """Provider -> message ids of `sent` messages with no report, not polled since
        `sent_before`; marks them polled now."""
        ...

    async def provider_states(self) -> dict[str, ProviderState]: ...

    async def set_provider_state(self, state: ProviderState, by_hand: bool = False) -> bool:
        """Stores a provider's health. Only a change made by hand (`by_hand`: a pause or a
        resume from the operator) may replace a pause made by hand; else False."""
        ...

    async def get_notification(self, message_id: str, source: str) -> Notification | None:
        """The message if `source` (the client that asked for it) made it; else None."""
        ...

    async def find_notifications(
        self,
        source: str,
        *,
        recipient: str | None = None,
        statuses: tuple[str, ...] = (),
        template_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
        after: tuple[float, str] | None = None,
        limit: int = 50,
    ) -> list[Notification]:
        """`source`'s messages, newest first, created in [since, until), after the keyset
        position `after` (created_at, id)."""
        ...

    async def cancel_notification(
        self, message_id: str, source: str, now: float
    ) -> Notification | None:
        """Cancels a message of `source` that no dispatcher has claimed yet, in one conditional
        write: against a claim of the same message exactly one of the two wins. The message as
        it stands after (`cancelled`, or the state that refused it); None: no such message of
        `source`."""
        ...


class NotificationStore(Protocol):
    async def enqueue_notifications(
        self,
        entries: Sequence[tuple[str, OutboundSms | Outcome]],
        resend_after_s: int,
        idempotency: tuple[str, str] | None,
        now: float,
    ) -> Result | None:
        """In one transaction: replays the stored answer of a known idempotency key (None when
        the key came with a different request), refuses numbers that got this template within
        `resend_after_s`, enqueues the rest and stores the answer under the key."""
        ...

    async def due_callbacks(
        self, now: float, limit: int
    ) -> list[tuple[Notification, str, int, str]]:
        """Final messages whose requester asked for a callback that is due: (message, url,
        attempts so far, the client that asked)."""
        ...

    async def record_callback(
        self, message_id: str, delivered: bool, attempts: int, retry_at: float | None
    ) -> None:
        """After one callback try: done, due again at `retry_at`, or given up (None)."""
        ...


class InboundStore(Protocol):
    async def inbound_seen(self, provider: str, provider_message_id: str) -> bool:
        """Whether this inbound message was already taken, as committed: read once a claim found
        it taken and `settled()` returned, so a repeat is told "duplicate" only of a taking that
        stands."""
        ...

    async def claim_inbound(
        self, provider: str, provider_message_id: str, sender: str, now: float, command: str
    ) -> bool:
        """True the first time a provider's inbound message id is taken. Inside a unit of work
        with the answer, so the message, its effects and its reply commit together."""
        ...


class Storage(
    SessionStore,
    RecordStore,
    ResetStore,
    VerificationStore,
    LimitStore,
    KeyStore,
    OutboxStore,
    DispatchStore,
    NotificationStore,
    InboundStore,
    ConsoleInboxStore,
    ConsoleStore,
    AuditStore,
    SigningSecretStore,
    Protocol,
):
    """Everything the gateway stores."""

    def unit_of_work(self) -> AbstractAsyncContextManager[None]:
        """Every write inside commits together, or none does (see storage/database.py)."""
        ...

    async def settled(self) -> None:
        """Returns once every unit of work this process has let through is committed, and raises
        what their commit raised: an answer that rests on another unit's writes (a repeat told
        by a claim not committed yet) waits for them as that unit's own answer does."""
        ...

    async def ping(self) -> bool: ...

    async def counts(self) -> dict[str, int]:
        """Gauges for /metrics: `outbox_<status>` per outbox status, and `sessions_active`."""
        ...

    async def oldest_due(self) -> float | None:
        """When the longest-waiting queued message fell due (None: nothing queued)."""
        ...

    async def close(self) -> None: ...
