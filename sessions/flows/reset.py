"""2. Password reset with tracking codes (بازیابی رمز عبور, seeds 002 and 003).

The closing screen is the same whether or not an account matched, and it shows no secret: the
password and tracking code travel by SMS to the registered number only.
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
from sessions.services.reset import ResetOutcome, request_reset

DONE = T(
    "در صورت ثبت این شناسه با شماره شما، رمز موقت و کد رهگیری پیامک می‌شود.",
    "If this identifier is registered with your number, a temporary password and a tracking "
    "code will be sent to it by SMS.",
)


async def _reset(ctx: Ctx) -> Outcome:
    outcome = await request_reset(
        deps_of(ctx), identifier_of(ctx), ctx.msisdn, ctx.state.lang, source="ussd"
    )
    return end(LIMITED) if outcome is ResetOutcome.LIMITED else end(DONE)


def _samples() -> list[Screen]:
    return [end(DONE), end(LIMITED)]


FLOW = Flow(
    key="reset",
    label=T("بازیابی رمز", "Password reset"),
    entry="reset.start",
    nodes={
        **ask_identifier("reset", "reset.done"),
        "reset.done": Action(_reset),
    },
    samples=_samples,
)
