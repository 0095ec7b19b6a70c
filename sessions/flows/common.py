"""Prompts, parsers and notices that several flows share."""

from __future__ import annotations

from sessions.engine import Ask, Ctx, Invalid, Option
from sessions.normalize import to_persian_digits
from sessions.screens import Screen, T
from sessions.services.deps import Deps
from sessions.services.registration import FOREIGN_ID, KINDS, NATIONAL_ID, Identifier
from sessions.services.registration import INSURANCE as INSURANCE_KIND
from sessions.validators import (
    InvalidInput,
    digit_span,
    foreign_id,
    insurance_number,
    loan_code,
    national_id,
)

NID_PROMPT = T("کد ملی ۱۰ رقمی را وارد کنید:", "Enter your 10-digit national ID:")
NID_INVALID = T("کد ملی نامعتبر است.", "Invalid national ID.")
CODE_PROMPT = T("کد رهگیری تسهیلات را وارد کنید:", "Enter the loan's tracking code:")
CODE_RETRY = T("کد رهگیری را وارد کنید:", "Enter the tracking code:")
CODE_INVALID = T("کد رهگیری باید {n} رقم باشد.", "A tracking code has {n} digits.")
TOO_MANY_TRIES = T(
    "لطفاً با اطلاعات درست دوباره شماره‌گیری کنید.", "Please dial again with the right details."
)
LIMITED = T(
    "تعداد درخواست‌های شما بیش از حد مجاز است. لطفاً بعداً تلاش کنید.",
    "Too many requests from your number. Please try again later.",
)


def parse_national_id(text: str) -> str:
    try:
        return national_id(text)
    except InvalidInput as exc:
        raise Invalid(NID_INVALID) from exc


def code_invalid(lengths: tuple[int, int]) -> T:
    """The malformed-code message naming the portal's lengths (GATEWAY_LOAN_CODE_DIGITS)."""
    low, high = lengths
    fa = to_persian_digits(str(low) if low == high else f"{low} تا {high}")
    return T(CODE_INVALID.fa.format(n=fa), CODE_INVALID.en.format(n=digit_span(lengths)))


def parse_loan_code(ctx: Ctx, text: str) -> str:
    lengths = deps_of(ctx).policy.loan_code_digits
    try:
        return loan_code(text, lengths)
    except InvalidInput as exc:
        raise Invalid(code_invalid(lengths)) from exc


def ask_national_id(goto: str) -> Ask:
    """The national-ID prompt alone: asked again on a bad checksum, at most three tries."""
    return Ask(NID_PROMPT, "nid", parse_national_id, goto, TOO_MANY_TRIES, (NID_INVALID,))


# Seed 003: a foreign national names their registration by the identifier a branch gave them,
# and anyone may by their insurance number; the national ID stays the prompt's first answer.
FOREIGN = T("شناسه اتباع خارجی", "Foreign national ID")
INSURANCE = T("شماره بیمه", "Insurance number")
# The length is the operator's (GATEWAY_FOREIGN_ID_DIGITS): the error names it.
FOREIGN_PROMPT = T("شناسه اتباع خارجی را وارد کنید:", "Enter your foreign national ID:")
FOREIGN_INVALID = T("شناسه اتباع خارجی باید {n} رقم باشد.", "A foreign national ID has {n} digits.")
INSURANCE_PROMPT = T("شماره بیمه ۱۰ رقمی را وارد کنید:", "Enter your 10-digit insurance number:")
INSURANCE_INVALID = T("شماره بیمه باید ۱۰ رقم باشد.", "An insurance number has 10 digits.")


def _with_digits(text: T, digits: int) -> T:
    return T(text.fa.format(n=to_persian_digits(str(digits))), text.en.format(n=digits))


def parse_foreign_id(ctx: Ctx, text: str) -> str:
    digits = deps_of(ctx).policy.foreign_id_digits
    try:
        return foreign_id(text, digits)
    except InvalidInput as exc:
        raise Invalid(_with_digits(FOREIGN_INVALID, digits)) from exc


def parse_insurance_number(text: str) -> str:
    try:
        return insurance_number(text)
    except InvalidInput as exc:
        raise Invalid(INSURANCE_INVALID) from exc


def ask_identifier(prefix: str, goto: str) -> dict[str, Ask]:
    """The prompt flows 1 and 2 open with: a national ID, or `1` a foreign national's
    identifier, `2` an insurance number; each validated, at most three tries. The answer is
    kept under `nid`, its kind under `id_kind`. The foreign ID's length is the operator's; its
    error names it, and `check` fits the widest."""
    widest = 20
    return {
        f"{prefix}.start": Ask(
            NID_PROMPT,
            "nid",
            parse_national_id,
            goto,
            TOO_MANY_TRIES,
            (NID_INVALID,),
            options=(
                Option("1", FOREIGN, f"{prefix}.foreign"),
                Option("2", INSURANCE, f"{prefix}.insurance"),
            ),
            sets={"id_kind": NATIONAL_ID},
        ),
        f"{prefix}.foreign": Ask(
            FOREIGN_PROMPT,
            "nid",
            str,
            goto,
            TOO_MANY_TRIES,
            (_with_digits(FOREIGN_INVALID, widest),),
            parse_in=parse_foreign_id,
            retry=T("شناسه را وارد کنید:", "Enter the ID:"),
            sets={"id_kind": FOREIGN_ID},
        ),
        f"{prefix}.insurance": Ask(
            INSURANCE_PROMPT,
            "nid",
            parse_insurance_number,
            goto,
            TOO_MANY_TRIES,
            (INSURANCE_INVALID,),
            sets={"id_kind": INSURANCE_KIND},
        ),
    }


def identifier_of(ctx: Ctx) -> Identifier:
    data = ctx.state.data
    kind = data.get("id_kind", NATIONAL_ID)
    return Identifier(kind if kind in KINDS else NATIONAL_ID, data.get("nid", ""))


def end(*lines: T) -> Screen:
    return Screen(body=lines, end=True)


def deps_of(ctx: Ctx) -> Deps:
    deps = ctx.deps
    if not isinstance(deps, Deps):
        raise TypeError("flows need sessions.services.deps.Deps")
    return deps
