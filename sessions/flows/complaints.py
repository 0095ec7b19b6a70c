"""4. Complaint filing (ثبت اعتراض, seeds 000, 001, 004): a subject, the workshop code or "none",
an optional short text, a confirmation; the ticket number on screen and by SMS."""

from __future__ import annotations

from sessions.engine import Action, Ask, Ctx, Custom, Goto, Invalid, Menu, Option, Outcome
from sessions.flows.base import Flow
from sessions.flows.common import LIMITED, deps_of, end
from sessions.normalize import digits_only, to_persian_digits
from sessions.screens import Screen, T
from sessions.services import complaints

START = "complaints.start"
OBJECTION_KEY = "objection"  # set by the loan flow: the rejected loan being objected to
NONE_KEY = "1"

SUBJECTS = {
    "loan_rejected": T("رد تسهیلات", "Loan rejected"),
    "workshop_not_found": T("کد کارگاه یافت نشد", "Workshop code not listed"),
    "registration": T("ثبت‌نام", "Registration"),
    "other": T("سایر", "Other"),
}
SUBJECT_TITLE = T("موضوع:", "Subject of the complaint:")
WORKSHOP_PROMPT = T(
    "کد کارگاه را وارد کنید.\n۱ کد کارگاه ندارم", "Enter the workshop code.\n1 I have none"
)
WORKSHOP_RETRY = T("۱ کد کارگاه ندارم", "1 I have none")
WORKSHOP_INVALID = T("کد کارگاه باید ۴ تا ۱۲ رقم باشد.", "A workshop code has 4 to 12 digits.")
BODY_PROMPT = T("شرح کوتاه اعتراض را بنویسید.\n۱ بدون شرح", "Write a short description.\n1 Skip")
BODY_RETRY = T("۱ بدون شرح", "1 Skip")
BODY_TOO_LONG = T("شرح حداکثر ۱۶۰ نویسه است.", "The description may have at most 160 characters.")
CONFIRM = T("اعتراض «{s}» ثبت شود؟", "File the complaint \u201c{s}\u201d?")
CONFIRM_OPTIONS = (("1", T("ثبت", "File")), ("2", T("انصراف", "Cancel")))
CANCELLED = T("اعتراض ثبت نشد.", "The complaint was not filed.")
FILED = T(
    "اعتراض شما با شماره {t} ثبت شد. این شماره پیامک هم می‌شود.",
    "Your complaint is filed as ticket {t}. It is sent to you by SMS too.",
)
TOO_MANY_OPEN = T(
    "شما {n} اعتراض بی‌پاسخ دارید. با پاسخ یکی از آن‌ها اعتراض تازه ثبت می‌شود.",
    "You have {n} unanswered complaints. A new one can be filed once one is answered.",
)
GIVE_UP = T("لطفاً دوباره شماره‌گیری کنید.", "Please dial again.")


def _workshop(text: str) -> str:
    if text == NONE_KEY:
        return ""
    code = digits_only(text)
    if not (code.isdigit() and len(code) in complaints.WORKSHOP_CODE_LENGTHS):
        raise Invalid(WORKSHOP_INVALID)
    return code


def _body(text: str) -> str:
    if text == NONE_KEY:
        return ""
    if len(text) > complaints.BODY_MAX:
        raise Invalid(BODY_TOO_LONG)
    return text


def _too_many(limit: int) -> Screen:
    return end(
        T(
            TOO_MANY_OPEN.fa.format(n=to_persian_digits(str(limit))),
            TOO_MANY_OPEN.en.format(n=limit),
        )
    )


async def _gate(ctx: Ctx) -> Outcome:
    """Says at once when the caller cannot file another one, before they type anything."""
    deps = deps_of(ctx)
    limit = deps.policy.max_open_complaints
    if await complaints.count_open(deps, ctx.msisdn) >= limit:
        return _too_many(limit)
    data = ctx.state.data
    data.pop("loan_code", None)
    loan = data.pop(OBJECTION_KEY, None)
    if loan:
        data.update(subject="loan_rejected", loan_code=loan)
        return Goto("complaints.workshop")
    return Goto("complaints.subject")


def _confirm_screen(subject: str) -> Screen:
    label = SUBJECTS.get(subject, SUBJECTS["other"])
    question = T(CONFIRM.fa.format(s=label.fa), CONFIRM.en.format(s=label.en))
    return Screen(body=(question,), options=CONFIRM_OPTIONS)


async def _confirm(ctx: Ctx) -> Outcome:
    return _confirm_screen(ctx.state.data.get("subject", "other"))


async def _confirmed(ctx: Ctx, text: str) -> Outcome:
    if text == "1":
        return Goto("complaints.file")
    if text == "2":
        return end(CANCELLED)
    return await _confirm(ctx)


def _filed(ticket: str) -> Screen:
    return end(T(FILED.fa.format(t=to_persian_digits(ticket)), FILED.en.format(t=ticket)))


async def _file(ctx: Ctx) -> Outcome:
    deps = deps_of(ctx)
    data = ctx.state.data
    record = await complaints.file(
        deps,
        ctx.msisdn,
        data.get("subject", "other"),
        workshop_code=data.get("workshop", ""),
        loan_code=data.get("loan_code", ""),
        body=data.get("body", ""),
        channel="ussd",
        lang=ctx.state.lang,
    )
    return _too_many(deps.policy.max_open_complaints) if record is None else _filed(record.ticket)


def _samples() -> list[Screen]:
    confirms = [_confirm_screen(s) for s in SUBJECTS]
    return [*confirms, _filed("99999999"), _too_many(3), end(CANCELLED), end(LIMITED)]


FLOW = Flow(
    key="complaints",
    label=T("ثبت اعتراض", "File a complaint"),
    entry=START,
    nodes={
        START: Action(_gate),
        "complaints.subject": Menu(
            SUBJECT_TITLE,
            tuple(
                Option(str(i), label, "complaints.workshop", {"subject": key})
                for i, (key, label) in enumerate(SUBJECTS.items(), start=1)
            ),
        ),
        "complaints.workshop": Ask(
            WORKSHOP_PROMPT,
            "workshop",
            _workshop,
            "complaints.body",
            GIVE_UP,
            (WORKSHOP_INVALID,),
            retry=WORKSHOP_RETRY,
        ),
        "complaints.body": Ask(
            BODY_PROMPT,
            "body",
            _body,
            "complaints.confirm",
            GIVE_UP,
            (BODY_TOO_LONG,),
            retry=BODY_RETRY,
        ),
        "complaints.confirm": Custom(_confirm, _confirmed),
        "complaints.file": Action(_file),
    },
    samples=_samples,
)
