"""Answers to SMS keywords: the same services as the USSD flows, the answer as a templated SMS
through the outbox, to the sender's number only."""

from __future__ import annotations

from sessions.keywords import Command, Parsed, parse
from sessions.normalize import digits_only, to_persian_digits
from sessions.records import Limit, OutboundSms, limit_subject
from sessions.services import complaints, loans, mine, registration
from sessions.services.deps import Deps, make_sms
from sessions.services.reset import ResetOutcome, request_reset
from sessions.validators import InvalidInput, digit_span, loan_code

SMS_BODY_MAX = 500  # an SMS complaint may be longer than a USSD one, not unbounded


async def answer(deps: Deps, sender: str, text: str) -> Parsed:
    """Handles one inbound SMS; every reply (or the reset SMS itself) is in the outbox after.
    Past the hourly number of answers a number gets silence: an auto-responder that answers
    our answers would otherwise ping-pong forever."""
    parsed = parse(text)
    limit = Limit(
        f"sms-answer:{limit_subject(sender)}", deps.policy.sms_answers_per_number_per_hour, 3600
    )
    if await deps.store.hit_limits([limit], deps.clock()) is not None:
        return parsed
    replies = await _dispatch(deps, sender, parsed)
    if replies:
        await deps.store.enqueue(replies)
    return parsed


def spelled(lengths: tuple[int, int], lang: str) -> str:
    """ "6 to 20" (or "8") in the reply's language and digits."""
    if lang == "en":
        return digit_span(lengths)
    low, high = lengths
    return to_persian_digits(str(low) if low == high else f"{low} تا {high}")


def _reply(
    deps: Deps, sender: str, parsed: Parsed, template_id: str, **params: object
) -> list[OutboundSms]:
    return [make_sms(deps, sender, template_id, params, lang=parsed.lang, source="sms")]


async def _dispatch(deps: Deps, sender: str, parsed: Parsed) -> list[OutboundSms]:
    arg = parsed.argument
    try:
        if parsed.command is Command.LOAN:
            lengths = deps.policy.loan_code_digits
            try:
                code = loan_code(arg, lengths)
            except InvalidInput:
                return _reply(
                    deps,
                    sender,
                    parsed,
                    "reply_invalid_loan_code",
                    lengths=spelled(lengths, parsed.lang),
                )
            found = await loans.by_code(deps, code, sender)
            if found.limited:
                return _reply(deps, sender, parsed, "reply_rate_limited")
            if found.record is None:
                return _reply(deps, sender, parsed, "reply_not_found")
            loan = found.record
            queues = await loans.shortest_queues(deps, loan)
            return [
                *_reply(
                    deps,
                    sender,
                    parsed,
                    "reply_loan_status",
                    **loans.stage_params(loan, parsed.lang),
                ),
                *loans.suggestions_sms(deps, loan, queues, parsed.lang, "sms"),
            ]
        if parsed.command is Command.REGISTRATION:
            reg = await registration.lookup(deps, _identifiers(deps, sender, parsed), sender)
            if reg.limited:
                return _reply(deps, sender, parsed, "reply_rate_limited")
            if reg.record is None:
                return _reply(deps, sender, parsed, "reply_not_found")
            if reg.record.status == "in_review":
                # As on USSD: the advice to register again only once 48 hours have passed.
                overdue = registration.overdue(deps, reg.record)
                template = "registration_in_review" if overdue else "registration_received"
                return _reply(deps, sender, parsed, template)
            return _reply(
                deps, sender, parsed, "reply_registration_status", status=reg.record.status
            )
        if parsed.command is Command.RESET:
            idents = _identifiers(deps, sender, parsed)
            outcome = await request_reset(deps, idents, sender, parsed.lang, source="sms")
            if outcome is ResetOutcome.LIMITED:
                return _reply(deps, sender, parsed, "reply_rate_limited")
            # On a match the password SMS itself is the answer; otherwise say what would happen.
            return (
                []
                if outcome is ResetOutcome.SENT
                else _reply(deps, sender, parsed, "reply_reset_requested")
            )
        if parsed.command is Command.REQUESTS:
            return await _requests(deps, sender, parsed)
        if parsed.command is Command.COMPLAINT and arg and len(arg) <= SMS_BODY_MAX:
            filed = await complaints.file(
                deps, sender, "other", body=arg, channel="sms", lang=parsed.lang
            )
            # Filed: complaint_received is already in the outbox with the record.
            return [] if filed is not None else _reply(deps, sender, parsed, "reply_rate_limited")
    except InvalidIdentifier:
        digits = str(deps.policy.foreign_id_digits)
        if parsed.lang == "fa":
            digits = to_persian_digits(digits)
        return _reply(deps, sender, parsed, "reply_invalid_identifier", foreign_digits=digits)
    except InvalidInput:
        pass
    return _reply(deps, sender, parsed, "keyword_help")


class InvalidIdentifier(Exception):
    """A registration or reset keyword with an argument that names no kind of identifier."""


def _identifiers(deps: Deps, sender: str, parsed: Parsed) -> list[registration.Identifier]:
    try:
        return registration.identifiers(parsed.argument, deps.policy.foreign_id_digits)
    except InvalidInput:
        raise InvalidIdentifier from None


NEWEST_LISTED = 3


async def _requests(deps: Deps, sender: str, parsed: Parsed) -> list[OutboundSms]:
    """REQUEST + a ticket or request number: that item, the caller's own only; without a
    number: the caller's three newest."""
    lang = parsed.lang
    if not parsed.argument:
        items = await mine.of_caller(deps, sender, limit=NEWEST_LISTED)
        if not items:
            return _reply(deps, sender, parsed, "reply_no_requests")
        lines = [_line(deps, item, lang) for item in items]
        names = ("first", "second", "third")
        return _reply(
            deps, sender, parsed, "reply_my_requests", **dict(zip(names, lines, strict=False))
        )
    number = digits_only(parsed.argument)
    if not (number.isascii() and number.isdigit() and 8 <= len(number) <= 12):
        return _reply(deps, sender, parsed, "reply_not_found")
    found = await mine.by_number(deps, number, sender)
    if found.limited:
        return _reply(deps, sender, parsed, "reply_rate_limited")
    if found.record is None:
        return _reply(deps, sender, parsed, "reply_not_found")
    template, params = found.record.params()
    return _reply(deps, sender, parsed, template, **params)


def _line(deps: Deps, item: mine.Item, lang: str) -> str:
    status = mine.status_label(deps.templates, item, lang)
    number = item.number if lang == "en" else to_persian_digits(item.number)
    return f"{mine.kind_label(item, lang)} {number}: {status}"
