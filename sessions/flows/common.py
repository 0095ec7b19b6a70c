"""Prompts, parsers and notices that several flows share."""

from __future__ import annotations

from sessions.engine import Ask, Ctx, Invalid
from sessions.normalize import to_persian_digits
from sessions.screens import Screen, T
from sessions.services.deps import Deps
from sessions.validators import InvalidInput, digit_span, loan_code, national_id

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
    """The national-ID prompt that flows 1 and 2 open with: asked again on a bad checksum, at
    most three tries."""
    return Ask(NID_PROMPT, "nid", parse_national_id, goto, TOO_MANY_TRIES, (NID_INVALID,))


def end(*lines: T) -> Screen:
    return Screen(body=lines, end=True)


def deps_of(ctx: Ctx) -> Deps:
    deps = ctx.deps
    if not isinstance(deps, Deps):
        raise TypeError("flows need sessions.services.deps.Deps")
    return deps
