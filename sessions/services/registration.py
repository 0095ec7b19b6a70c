"""Registration tracking (seed 002): the status of a registration, only for its own number."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sessions.normalize import digits_only
from sessions.ports import Notify
from sessions.records import Limit, OutboundSms, Registration, limit_subject
from sessions.services.deps import Deps, Found, make_sms
from sessions.validators import InvalidInput, is_valid_national_id

IN_REVIEW_ADVICE_AFTER_S = 48 * 3600  # seed 002: no SMS within 48 hours → register again

# The SMS each status owes when a registration enters it (DOMAIN.md, seed 002).
STATUS_TEMPLATES = {
    "in_review": "registration_received",
    "activated": "registration_activated",
    "approved_visit_branch": "registration_approved_visit_branch",
    "identity_mismatch": "registration_identity_mismatch",
}


def probing_limits(deps: Deps, msisdn: str) -> list[Limit]:
    return [Limit(f"lookup:{limit_subject(msisdn)}", deps.policy.lookups_per_number_per_hour, 3600)]


# How a caller names their registration (seed 003): a national ID, a foreign national's
# identifier, or an insurance number.
NATIONAL_ID, FOREIGN_ID, INSURANCE = "nid", "foreign", "insurance"
KINDS = (NATIONAL_ID, FOREIGN_ID, INSURANCE)


@dataclass(frozen=True, slots=True)
class Identifier:
    kind: str
    value: str


def identifiers(raw: str, foreign_digits: int) -> list[Identifier]:
    """What a typed identifier may be, in the order tried: ten digits are a national ID (with
    its check digit) or an insurance number; the foreign length, a foreign national's ID.
    `InvalidInput` when it can be none of them."""
    value = digits_only(raw)
    if value.isascii() and value.isdigit():
        if len(value) == 10:
            first = [Identifier(NATIONAL_ID, value)] if is_valid_national_id(value) else []
            return [*first, Identifier(INSURANCE, value)]
        if len(value) == foreign_digits:
            return [Identifier(FOREIGN_ID, value)]
    raise InvalidInput(
        "invalid_identifier",
        f"a national ID or an insurance number has 10 digits, a foreign ID {foreign_digits}",
    )


async def find(
    deps: Deps, ident: Identifier | Sequence[Identifier], msisdn: str
) -> Registration | None:
    """The registration this identifier names whose mobile is the caller's (of several, the
    first that does); None for anyone else's as for no such record, so an answer never says
    whether an identifier exists."""
    if not isinstance(ident, Identifier):
        for each in ident:
            match = await find(deps, each, msisdn)
            if match is not None:
                return match
        return None
    if ident.kind == NATIONAL_ID:
        record = await deps.store.get_record(Registration, ident.value)
        return record if record is not None and record.mobile == msisdn else None
    column = "foreign_id" if ident.kind == FOREIGN_ID else "insurance_number"
    found = await deps.store.find_records(
        Registration, {"mobile": msisdn, column: ident.value}, limit=1
    )
    return found[0] if found else None


async def lookup(
    deps: Deps, ident: Identifier | Sequence[Identifier] | str, msisdn: str
) -> Found[Registration]:
    if await deps.store.hit_limits(probing_limits(deps, msisdn), deps.clock()) is not None:
        return Found(limited=True)
    if isinstance(ident, str):
        ident = Identifier(NATIONAL_ID, ident)
    return Found(await find(deps, ident, msisdn))


def overdue(deps: Deps, record: Registration) -> bool:
    """Still in review after 48 hours: the seed's advice is to register again."""
    return (
        record.status == "in_review" and deps.clock() - record.created_at > IN_REVIEW_ADVICE_AFTER_S
    )


NAME_MAX = 40  # the templates' budget for a name


def status_params(record: Registration) -> dict[str, str]:
    """The greeting's values; a full name too long for the SMS budget gives way to the last name."""
    name = f"{record.first_name} {record.last_name}".strip()
    if len(name) > NAME_MAX:
        name = record.last_name.strip()
    if not name or len(name) > NAME_MAX or record.gender == "unknown":
        return {"gender": "unknown"}
    return {"gender": record.gender, "name": name}


def notifier(deps: Deps, source: str) -> Notify[Registration]:
    def notify(old: Registration | None, new: Registration) -> list[OutboundSms]:
        if old is not None and old.status == new.status and old.mobile == new.mobile:
            return []
        template_id = STATUS_TEMPLATES[new.status]
        params = status_params(new) if template_id in _GREETED else {}
        return [make_sms(deps, new.mobile, template_id, params, source=source)]

    return notify


_GREETED = frozenset({"registration_activated", "registration_approved_visit_branch"})


async def put(deps: Deps, record: Registration, source: str) -> tuple[Registration, bool]:
    now = deps.clock()
    record.created_at = record.created_at or now
    record.updated_at = now
    return await deps.store.put_record(record, notifier(deps, source))
