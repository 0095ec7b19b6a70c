"""3. Loan-status lookup (وضعیت تسهیلات, seed 000): by tracking code, or the caller's own list.

Only the applicant's own number sees an application. A rejected one offers to file an objection,
which continues into the complaint flow with the loan filled in.
"""

from __future__ import annotations

from sessions.engine import Action, Ask, Ctx, Custom, Goto, Menu, Option, Outcome
from sessions.flows.base import Flow
from sessions.flows.common import (
    CODE_PROMPT,
    CODE_RETRY,
    LIMITED,
    TOO_MANY_TRIES,
    code_invalid,
    deps_of,
    end,
    parse_loan_code,
)
from sessions.flows.complaints import OBJECTION_KEY
from sessions.flows.complaints import START as COMPLAINT_START
from sessions.normalize import to_persian_digits
from sessions.records import LOAN_STAGES, BranchQueue, Loan
from sessions.screens import Screen, T
from sessions.services import loans
from sessions.validators import LOAN_CODE_DIGITS
from templates_sms import TemplateRegistry, jalali_date, load_templates

NOT_FOUND = T(
    "درخواستی با این کد رهگیری برای شماره شما یافت نشد.",
    "No application with this tracking code was found for your number.",
)
NONE_OF_YOURS = T(
    "درخواست تسهیلاتی برای شماره شما ثبت نشده است.",
    "No loan application is registered for your number.",
)
OBJECT = T("ثبت اعتراض", "File an objection")
SHORTER_QUEUES = T("شعب با صف کوتاه‌تر", "Branches with shorter queues")
QUEUES_TITLE = T("کوتاه‌ترین صف‌ها در {c}:", "Shortest queues in\n{c}")
MY_LIST = T("درخواست‌های شما:", "Your applications:")


def stage_label(templates: TemplateRegistry, stage: str) -> T:
    """The stage's words as the SMS says them, so screen and SMS never disagree."""
    choices = getattr(templates.get("reply_loan_status").placeholders["stage"], "choices", {})
    labels = choices.get(stage, {"fa": stage, "en": stage})
    return T(labels["fa"], labels["en"])


def place_line(loan: Loan) -> T:
    """Bank and branch: «بانک، شعبه» in Persian; in English the English names, or each Persian
    name on a line of its own (never inside an English sentence)."""
    fa_bank, fa_branch = loans.place(loan, "fa")
    en_bank, en_branch = loans.place(loan, "en")
    english = loan.bank_en and loan.branch_en
    return T(
        f"{fa_bank}، {fa_branch}",
        f"{en_bank}, {en_branch}" if english else f"{en_bank}\n{en_branch}",
    )


def loan_screen(templates: TemplateRegistry, loan: Loan, queues: bool = False) -> Screen:
    """`queues`: shorter branch queues are known in the applicant's city, for a bank without
    credit; its screen then offers them as its last line."""
    changed = loans.changed_at(loan)
    stage = stage_label(templates, loan.stage)
    details = (place_line(loan), T(jalali_date(changed, "fa"), jalali_date(changed, "en")))
    if loan.stage == "bank_no_credit" and queues:
        # The advice ("change bank or branch") is the option itself: the shortest queues.
        short = T(stage.fa.split("؛")[0], stage.en.split(":")[0])
        head = T(f"{loan.tracking_code}: {short.fa}", f"{loan.tracking_code}: {short.en}")
        return Screen(body=(head, *details), options=(("1", SHORTER_QUEUES),))
    if loan.stage == "rejected":
        # The label's advice ("…; you may file an objection") is the option itself here; the
        # option comes after the application's details, as its last line.
        short = T(stage.fa.split("؛")[0], stage.en.split(";")[0])
        head = T(f"{loan.tracking_code}: {short.fa}", f"{loan.tracking_code}: {short.en}")
        return Screen(body=(head, *details), options=(("1", OBJECT),))
    head = T(f"{loan.tracking_code}: {stage.fa}", f"{loan.tracking_code}: {stage.en}")
    return Screen(body=(head, *details), end=True)


def _localised(screen: Screen) -> Screen:
    """Persian digits in the Persian text of a screen built from records."""

    def fa_digits(lines: tuple[T, ...]) -> tuple[T, ...]:
        return tuple(T(to_persian_digits(t.fa), t.en) for t in lines)

    return Screen(
        body=fa_digits(screen.body),
        options=screen.options,
        end=screen.end,
        nav=screen.nav,
        after=fa_digits(screen.after),
    )


async def _show(ctx: Ctx, loan: Loan) -> Outcome:
    ctx.state.data["loan"] = loan.tracking_code
    ctx.state.data["stage"] = loan.stage
    deps = deps_of(ctx)
    queues = bool(await loans.shortest_queues(deps, loan))
    ctx.state.data["queues"] = "1" if queues else ""
    return _localised(loan_screen(deps.templates, loan, queues))


def queues_screen(city: str, queues: list[BranchQueue]) -> Screen:
    lines = [
        T(QUEUES_TITLE.fa.format(c=city), QUEUES_TITLE.en.format(c=city)),
        *(T(loans.queue_line(q, "fa"), loans.queue_line(q, "en")) for q in queues),
    ]
    # Where to go next is the portal: the list closes the session (a long list pages on `98`).
    return Screen(body=tuple(lines), end=True)


async def _queues(ctx: Ctx) -> Outcome:
    deps = deps_of(ctx)
    loan = await deps.store.get_record(Loan, ctx.state.data.get("loan", ""))
    if loan is None or loan.mobile != ctx.msisdn:
        return end(NOT_FOUND)
    return queues_screen(loan.city, await loans.shortest_queues(deps, loan))


async def _by_code(ctx: Ctx) -> Outcome:
    found = await loans.by_code(deps_of(ctx), ctx.state.data["code"], ctx.msisdn)
    if found.limited:
        return end(LIMITED)
    return end(NOT_FOUND) if found.record is None else await _show(ctx, found.record)


async def _detail(ctx: Ctx) -> Outcome:
    loan = await deps_of(ctx).store.get_record(Loan, ctx.state.data.get("loan", ""))
    if loan is None or loan.mobile != ctx.msisdn:
        return end(NOT_FOUND)
    return await _show(ctx, loan)


async def _answer(ctx: Ctx, text: str) -> Outcome:
    data = ctx.state.data
    if text == "1" and data.get("stage") == "rejected":
        data[OBJECTION_KEY] = data["loan"]
        return Goto(COMPLAINT_START)
    if text == "1" and data.get("stage") == "bank_no_credit" and data.get("queues"):
        return Goto("loans.queues")
    return await _detail(ctx)


async def _mine(ctx: Ctx) -> Outcome:
    mine = await loans.of_caller(deps_of(ctx), ctx.msisdn)
    ctx.state.data["mine"] = ",".join(loan.tracking_code for loan in mine)
    return _list_screen([loan.tracking_code for loan in mine])


LISTED_DIGITS = 10  # a longer code is listed by its last digits; its screen shows it whole


def _listed(code: str) -> str:
    return code if len(code) <= LISTED_DIGITS else "…" + code[-(LISTED_DIGITS - 2) :]


def _list_screen(codes: list[str]) -> Screen:
    if not codes:
        # Not an end: `0` goes back to the loan menu, `00` to the main menu.
        return Screen(body=(NONE_OF_YOURS,))
    options = tuple(
        (str(i), T(to_persian_digits(_listed(code)), _listed(code)))
        for i, code in enumerate(codes, start=1)
    )
    return Screen(body=(MY_LIST,), options=options)


async def _pick(ctx: Ctx, text: str) -> Outcome:
    codes = [c for c in ctx.state.data.get("mine", "").split(",") if c]
    if text.isdigit() and 1 <= int(text) <= len(codes):
        ctx.state.data["loan"] = codes[int(text) - 1]
        return Goto("loans.detail")
    return _list_screen(codes)


def _samples() -> list[Screen]:
    templates = load_templates()
    code = "9" * 20  # the longest code the setting allows
    screens = []
    for bank_en, branch_en in (("", ""), ("B" * 30, "b" * 24), ("B" * 30, "")):
        widest = Loan(
            code, "", "", "", "ب" * 30, "ش" * 24, bank_en=bank_en, branch_en=branch_en,
            updated_at=1.7e9,
        )  # fmt: skip
        for stage in LOAN_STAGES:
            widest.stage = stage
            screens.append(_localised(loan_screen(templates, widest)))
            screens.append(_localised(loan_screen(templates, widest, queues=True)))
    city = "ش" * 24
    widest_queue = BranchQueue("", "ب" * 30, "ش" * 24, city, 99_999, "B" * 30, "b" * 24)
    persian_queue = BranchQueue("", "ب" * 30, "ش" * 24, city, 99_999)
    screens.append(queues_screen(city, [widest_queue] * 3))
    screens.append(queues_screen(city, [persian_queue] * 3))
    codes = ["9" * 20 for _ in range(9)]
    return [*screens, _list_screen(codes), _list_screen([]), end(NOT_FOUND), end(LIMITED)]


FLOW = Flow(
    key="loans",
    label=T("تسهیلات", "Loan status"),  # short: the main menu's five fit one page
    entry="loans.start",
    nodes={
        "loans.start": Menu(
            T("وضعیت تسهیلات", "Loan status"),
            (
                Option("1", T("با کد رهگیری", "By tracking code"), "loans.ask_code"),
                Option("2", T("درخواست‌های من", "My applications"), "loans.mine"),
            ),
        ),
        "loans.ask_code": Ask(
            CODE_PROMPT,
            "code",
            str,
            "loans.by_code",
            give_up=TOO_MANY_TRIES,
            errors=(code_invalid(LOAN_CODE_DIGITS), code_invalid((10, 32))),
            parse_in=parse_loan_code,
            retry=CODE_RETRY,
        ),
        "loans.by_code": Custom(_by_code, _answer),
        "loans.mine": Custom(_mine, _pick),
        "loans.detail": Custom(_detail, _answer),
        "loans.queues": Action(_queues),
    },
    samples=_samples,
)
