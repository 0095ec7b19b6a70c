"""Kartaban service requests (seed 004): filed by a citizen or for one, reviewed by staff, then
referred to the free Q&A (and closed) or invoiced, paid and delivered, or cancelled. Every change
of status sends the requester its SMS in the same transaction; a change outside the life cycle
is refused and writes nothing."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sessions.ports import Cap, KeyTaken, Notify
from sessions.records import (
    REQUEST_FINAL,
    REQUEST_TRANSITIONS,
    OutboundSms,
    ServiceRequest,
)
from sessions.services.deps import Deps, make_sms

DESCRIPTION_MAX = 500  # the API's; a USSD description is shorter (the flow's own limit)
NOTE_MAX = 70  # the SMS budget of request_referred
PAYMENT_REF_MAX = 20
AMOUNT_MAX = 999_999_999_999  # rials; the invoice template's worst case
NUMBER_TRIES = 5
CITIZEN = ""  # the client of a request a citizen filed by USSD or SMS


class InvalidTransition(Exception):
    """A change of status outside the life cycle; nothing was written."""

    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"a request cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


@dataclass(frozen=True, slots=True)
class Change:
    """A new status and that status's data (an invoice's amount and payment reference, the kind
    of delivery, a referral's note)."""

    status: str
    amount: int = 0
    payment_ref: str = ""
    delivery: str = ""
    note: str = ""


def make_number() -> str:
    """Nine digits: never read as an eight-digit complaint ticket."""
    return str(100_000_000 + secrets.randbelow(900_000_000))


def _sms(deps: Deps, record: ServiceRequest, source: str) -> OutboundSms | None:
    params: dict[str, object] = {"number": record.number}
    match record.status:
        case "submitted":
            template = "request_received"
        case "in_review":
            template = "request_in_review"
        case "referred":
            template = "request_referred"
            if record.note:
                params["note"] = record.note
        case "invoiced":
            template = "request_invoiced"
            params.update(amount=record.amount, payment_ref=record.payment_ref)
        case "paid":
            template = "request_paid"
        case "delivered":
            template = "request_delivered"
            params["delivery"] = record.delivery
        case "cancelled":
            template = "request_cancelled"
        case _:
            return None
    return make_sms(deps, record.mobile, template, params, lang=record.lang, source=source)


def notifier(deps: Deps, source: str) -> Notify[ServiceRequest]:
    def notify(old: ServiceRequest | None, new: ServiceRequest) -> list[OutboundSms]:
        if old is not None and old.status == new.status:
            return []
        sms = _sms(deps, new, source)
        return [] if sms is None else [sms]

    return notify


def unfinished_cap(deps: Deps, mobile: str) -> Cap:
    return Cap({"mobile": mobile}, deps.policy.max_unfinished_requests, done=REQUEST_FINAL)


async def count_unfinished(deps: Deps, mobile: str) -> int:
    return await deps.store.count_records(ServiceRequest, {"mobile": mobile}, done=REQUEST_FINAL)


async def file(
    deps: Deps,
    mobile: str,
    services: Sequence[str],
    description: str = "",
    *,
    client: str = CITIZEN,
    national_id: str = "",
    channel: str = "api",
    lang: str = "fa",
    capped: bool = False,
) -> ServiceRequest | None:
    """Files a request with a fresh number and its SMS; None when `capped` and the number has
    its limit of unfinished requests. Raises `KeyTaken` only after a run of collisions."""
    now = deps.clock()
    notify = notifier(deps, client or channel)
    cap = unfinished_cap(deps, mobile) if capped else None
    for attempt in range(1, NUMBER_TRIES + 1):
        record = ServiceRequest(
            number=make_number(),
            client=client,
            national_id=national_id,
            mobile=mobile,
            services=",".join(services),
            description=description,
            channel=channel,
            lang=lang,
            created_at=now,
            updated_at=now,
        )
        try:
            return await deps.store.create_record(record, notify, cap)
        except KeyTaken:
            if attempt == NUMBER_TRIES:
                raise
    raise AssertionError("not reached: the last try returns or raises")


def apply(record: ServiceRequest, change: Change, now: float) -> ServiceRequest:
    """The record after `change`, or `InvalidTransition`. Pure, so the storage can run it inside
    its transaction: a refusal there writes nothing."""
    if change.status not in REQUEST_TRANSITIONS.get(record.status, ()):
        raise InvalidTransition(record.status, change.status)
    record.status = change.status
    if change.status == "invoiced":
        record.amount, record.payment_ref = change.amount, change.payment_ref
    elif change.status == "delivered":
        record.delivery = change.delivery
    elif change.status == "referred":
        record.note = change.note
    record.updated_at = now
    return record


async def move(deps: Deps, number: str, change: Change, source: str) -> ServiceRequest | None:
    """Moves a request along its life cycle; None when there is no such request."""
    now = deps.clock()
    return await deps.store.change_record(
        ServiceRequest, number, lambda r: apply(r, change, now), notifier(deps, source)
    )


def is_unfinished(record: ServiceRequest) -> bool:
    return record.status not in REQUEST_FINAL
