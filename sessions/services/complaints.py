"""Complaints and objections (seeds 000, 001, 004): a ticket on screen and by SMS; staff change
its status through the API and each change notifies the complainant."""

from __future__ import annotations

import secrets

from sessions.ports import Cap, KeyTaken, Notify
from sessions.records import Complaint, OutboundSms
from sessions.services.deps import Deps, make_sms

BODY_MAX = 160
WORKSHOP_CODE_LENGTHS = range(4, 13)  # digits of a workshop code (کد کارگاه)
ANSWER_MAX = 100  # the SMS budget of complaint_status_changed
TICKET_TRIES = 5  # fresh tickets drawn before giving up on a run of collisions
# Statuses that no longer count against a number's open complaints: once staff have answered,
# the complainant may file the next one.
DONE = ("answered", "closed")


def make_ticket() -> str:
    return str(10_000_000 + secrets.randbelow(90_000_000))


def _received(deps: Deps, lang: str, source: str) -> Notify[Complaint]:
    def notify(old: Complaint | None, new: Complaint) -> list[OutboundSms]:
        return [
            make_sms(
                deps,
                new.msisdn,
                "complaint_received",
                {"ticket": new.ticket},
                lang=lang,
                source=source,
            )
        ]

    return notify


def _changed(deps: Deps, source: str) -> Notify[Complaint]:
    def notify(old: Complaint | None, new: Complaint) -> list[OutboundSms]:
        if old is not None and old.status == new.status:
            return []
        params: dict[str, object] = {"ticket": new.ticket, "status": new.status}
        if new.answer and new.status in ("answered", "closed"):
            params["answer"] = new.answer
        return [make_sms(deps, new.msisdn, "complaint_status_changed", params, source=source)]

    return notify


async def file(
    deps: Deps,
    msisdn: str,
    subject: str,
    *,
    workshop_code: str = "",
    loan_code: str = "",
    body: str = "",
    channel: str = "ussd",
    lang: str = "fa",
) -> Complaint | None:
    """Files a complaint; None when the number already has its limit of open tickets.

    Raises `KeyTaken` only after `TICKET_TRIES` fresh tickets all collided."""
    now = deps.clock()
    notify = _received(deps, lang, channel)
    for attempt in range(1, TICKET_TRIES + 1):
        record = Complaint(
            ticket=make_ticket(),
            msisdn=msisdn,
            subject=subject,
            workshop_code=workshop_code,
            loan_code=loan_code,
            body=body,
            channel=channel,
            created_at=now,
            updated_at=now,
        )
        try:
            return await deps.store.create_record(record, notify, open_cap(deps, msisdn))
        except KeyTaken:
            # Random tickets rarely collide, and the storage never overwrites: draw another.
            if attempt == TICKET_TRIES:
                raise
    raise AssertionError("not reached: the last try returns or raises")


def open_cap(deps: Deps, msisdn: str) -> Cap:
    """A number's open complaints: those not yet answered or closed."""
    return Cap({"msisdn": msisdn}, deps.policy.max_open_complaints, done=DONE)


async def count_open(deps: Deps, msisdn: str) -> int:
    return await deps.store.count_records(Complaint, {"msisdn": msisdn}, done=DONE)


async def update(
    deps: Deps, ticket: str, status: str | None, answer: str | None, source: str
) -> Complaint | None:
    now = deps.clock()

    def change(record: Complaint) -> Complaint:
        if status is not None:
            record.status = status
        if answer is not None:
            record.answer = answer
        record.updated_at = now
        return record

    return await deps.store.change_record(Complaint, ticket, change, _changed(deps, source))
