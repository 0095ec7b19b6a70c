"""1. Registration tracking (پیگیری ثبت نام, seed 002).

The caller's own number is the proof: the status shows only when the registration's mobile is the
caller's. "Not found" is the same answer for an unknown national ID and for someone else's.
"""

from __future__ import annotations

from sessions.engine import Action, Ctx, Outcome
from sessions.flows.base import Flow
from sessions.flows.common import (
    LIMITED,
    ask_identifier,
    deps_of,
    end,
    identifier_of,
)
from sessions.screens import Screen, T
from sessions.services import registration

STATUS = {
    "in_review": T("ثبت‌نام شما در دست بررسی است.", "Your registration is under review."),
    "activated": T("حساب کاربری شما فعال است. خوش آمدید.", "Your user account is active. Welcome."),
    "approved_visit_branch": T(
        "ثبت‌نام شما تأیید شد. برای فعال‌سازی، با مدارک هویتی به نزدیک‌ترین شعبه بروید.",
        "Your registration is approved. To activate your account, visit the nearest branch "
        "with your identity documents.",
    ),
    "identity_mismatch": T(
        "اطلاعات هویتی با پایگاه مرجع مطابقت ندارد. دوباره ثبت‌نام کنید یا به شعبه بروید.",
        "Your identity details do not match the civil registry. You may register again, or visit "
        "the nearest branch with your identity documents.",
    ),
}
OVERDUE = T(
    "اگر تا ۴۸ ساعت پیامک نگرفتید، دوباره ثبت‌نام کنید.",
    "If you have had no SMS within 48 hours, please register again.",
)
NOT_FOUND = T(
    "ثبت‌نامی با این شناسه برای شماره شما یافت نشد.",
    "No registration with this identifier was found for your number.",
)


def result_screen(status: str, overdue: bool) -> Screen:
    return end(STATUS[status], OVERDUE) if overdue else end(STATUS[status])


async def _result(ctx: Ctx) -> Outcome:
    deps = deps_of(ctx)
    found = await registration.lookup(deps, identifier_of(ctx), ctx.msisdn)
    if found.limited:
        return end(LIMITED)
    if found.record is None:
        return end(NOT_FOUND)
    return result_screen(found.record.status, registration.overdue(deps, found.record))


def _samples() -> list[Screen]:
    shown = [result_screen(s, False) for s in STATUS]
    return [*shown, result_screen("in_review", True), end(NOT_FOUND), end(LIMITED)]


FLOW = Flow(
    key="registration",
    label=T("پیگیری ثبت‌نام", "Registration status"),
    entry="registration.start",
    nodes={
        **ask_identifier("registration", "registration.result"),
        "registration.result": Action(_result),
    },
    samples=_samples,
)
