"""A citizen's own complaints and service requests ("my requests", seeds 001 and 004): newest
first, each with its status, the date of its last change, a complaint's answer and a request's
invoice. Only the caller's own number sees an item; anyone else's answers as if absent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sessions.records import Complaint, ServiceRequest
from sessions.services.deps import Deps, Found
from sessions.services.registration import probing_limits
from templates_sms import TemplateRegistry

TICKET_DIGITS = 8  # a complaint's ticket; a service request's number has nine
LISTED_MAX = 60  # items "my requests" pages through: far more than three unfinished of each


@dataclass(frozen=True, slots=True)
class Item:
    """One of the caller's complaints or service requests."""

    record: Complaint | ServiceRequest

    @property
    def is_complaint(self) -> bool:
        return isinstance(self.record, Complaint)

    @property
    def number(self) -> str:
        record = self.record
        return record.ticket if isinstance(record, Complaint) else record.number

    @property
    def changed(self) -> datetime:
        return datetime.fromtimestamp(self.record.updated_at, tz=UTC)

    def params(self) -> tuple[str, dict[str, object]]:
        """The reply template that answers for this item, and its parameters."""
        record = self.record
        if isinstance(record, Complaint):
            params: dict[str, object] = {
                "ticket": record.ticket,
                "status": record.status,
                "date": self.changed,
            }
            if record.answer and record.status in ("answered", "closed"):
                params["answer"] = record.answer
            return "reply_complaint_status", params
        if record.status == "invoiced":
            return "reply_request_invoice", {
                "number": record.number,
                "amount": record.amount,
                "payment_ref": record.payment_ref,
                "date": self.changed,
            }
        return "reply_request_status", {
            "number": record.number,
            "status": record.status,
            "date": self.changed,
        }


def status_label(templates: TemplateRegistry, item: Item, lang: str) -> str:
    """The status in the words its SMS uses, so screen and SMS never disagree."""
    template = "reply_complaint_status" if item.is_complaint else "reply_request_status"
    choices = getattr(templates.get(template).placeholders["status"], "choices", {})
    status = item.record.status
    return str(choices.get(status, {}).get(lang, status))


def kind_label(item: Item, lang: str) -> str:
    if lang == "en":
        return "Complaint" if item.is_complaint else "Request"
    return "اعتراض" if item.is_complaint else "درخواست"


async def of_caller(deps: Deps, msisdn: str, limit: int = LISTED_MAX) -> list[Item]:
    """The caller's complaints and service requests, newest first."""
    complaints = await deps.store.find_records(
        Complaint, {"msisdn": msisdn}, newest_first=True, limit=limit
    )
    requests = await deps.store.find_records(
        ServiceRequest, {"mobile": msisdn}, newest_first=True, limit=limit
    )
    items = [Item(c) for c in complaints] + [Item(r) for r in requests]
    items.sort(key=lambda item: (item.record.created_at, item.number), reverse=True)
    return items[:limit]


async def by_number(deps: Deps, number: str, msisdn: str) -> Found[Item]:
    """The caller's own complaint (8 digits) or service request (9) by its number; lookups
    are limited per number like every look-up of an identifier."""
    if await deps.store.hit_limits(probing_limits(deps, msisdn), deps.clock()) is not None:
        return Found(limited=True)
    return Found(await own(deps, number, msisdn))


async def own(deps: Deps, number: str, msisdn: str) -> Item | None:
    if len(number) == TICKET_DIGITS:
        complaint = await deps.store.get_record(Complaint, number)
        return Item(complaint) if complaint is not None and complaint.msisdn == msisdn else None
    request = await deps.store.get_record(ServiceRequest, number)
    return Item(request) if request is not None and request.mobile == msisdn else None
