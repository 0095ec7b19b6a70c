"""A small flow used by the engine tests: a menu, a free-text prompt, an echo and a long screen."""

from __future__ import annotations

from sessions.engine import Action, Ask, Ctx, Custom, Goto, Invalid, Menu, Option, Outcome
from sessions.flows.base import Flow
from sessions.flows.registry import SERVICES
from sessions.screens import Screen, T

EMPTY = T("متن خالی است.", "Empty text.")
LONG_LINES = tuple(
    T(f"بند شماره {i} از یک فهرست بلند برای آزمون صفحه‌بندی", f"line {i}") for i in range(1, 9)
)


def _parse(text: str) -> str:
    if not text:
        raise Invalid(EMPTY)
    return text


async def _echo(ctx: Ctx) -> Outcome:
    typed = ctx.state.data["typed"]
    return Screen(
        body=(T("نوشتید: {x}", "You typed: {x}").format(x=typed),),
        options=(("1", T("پایان", "Finish")),),
    )


async def _echo_answer(ctx: Ctx, text: str) -> Outcome:
    if text == "1":
        return Goto("probe.done")
    return await _echo(ctx)


async def _long(ctx: Ctx) -> Outcome:
    return Screen(body=LONG_LINES, options=(("1", T("انتخاب", "Pick")),))


async def _long_answer(ctx: Ctx, text: str) -> Outcome:
    return Goto("probe.done") if text == "1" else await _long(ctx)


async def _done(ctx: Ctx) -> Outcome:
    return Screen(body=(T("پایان آزمون.", "Probe finished."),), end=True)


PROBE = Flow(
    key="probe",
    label=T("آزمون", "Probe"),
    entry="probe.menu",
    nodes={
        "probe.menu": Menu(
            T("منوی آزمون", "Probe menu"),
            (
                Option("1", T("نوشتن متن", "Type text"), "probe.ask"),
                Option("2", T("فهرست بلند", "Long list"), "probe.long"),
            ),
        ),
        "probe.ask": Ask(
            T("متن را وارد کنید:", "Enter text:"),
            "typed",
            _parse,
            "probe.echo",
            give_up=T("بدرود", "Bye"),
            errors=(EMPTY,),
        ),
        "probe.echo": Custom(_echo, _echo_answer),
        "probe.long": Custom(_long, _long_answer),
        "probe.done": Action(_done),
    },
)

# The four services that open with the caller's input keep their menu keys 1–4; the probe takes
# 5 in place of "my requests", so the Persian main menu stays one page as it is in production.
WITH_PROBE = (*SERVICES[:4], PROBE)
