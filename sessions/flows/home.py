"""The main menu, the language switch and the offer to resume a cut-off session."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sessions.engine import (
    INVALID_CHOICE,
    Action,
    Ctx,
    Custom,
    Goto,
    Menu,
    Node,
    Option,
    Outcome,
    error_screen,
)
from sessions.flows.base import Flow
from sessions.flows.common import deps_of
from sessions.screens import Screen, T
from sessions.state import HOME, State
from sessions.ussd import RESUME_NODE

LANGUAGE_NODE = "language"
LANGUAGE_KEY = "9"
# Each language's menu names the other one in its own script ("English" / "فارسی" would make the
# English screen UCS-2 and cut its budget from 182 to 80 characters, so it says "Farsi").
LANGUAGE_LABEL = T("English", "Farsi")

RESUME_QUESTION = T("جلسه قبلی شما نیمه‌کاره ماند. ادامه می‌دهید؟", "Continue where you left off?")
RESUME_OPTIONS = (
    ("1", T("بله، ادامه", "Yes, continue")),
    ("2", T("خیر، منوی اصلی", "No, main menu")),
)


async def _toggle_language(ctx: Ctx) -> Outcome:
    ctx.state.lang = "en" if ctx.state.lang == "fa" else "fa"
    # Remembered for the number's next session, which opens in this language.
    await deps_of(ctx).store.remember_language(ctx.msisdn, ctx.state.lang, ctx.now)
    return Goto(HOME, push=False)


async def _resume_offer(ctx: Ctx) -> Outcome:
    return Screen(body=(RESUME_QUESTION,), options=RESUME_OPTIONS, nav=False)


async def _resume_answer(ctx: Ctx, text: str) -> Outcome:
    saved = ctx.state.saved
    ctx.state.saved = None
    if text == "1" and saved is not None:
        previous = State.from_dict(saved)
        ctx.state.lang = previous.lang
        ctx.state.data = previous.data
        ctx.state.stack = previous.stack
        return Goto(previous.node, push=False)
    if text == "2" or saved is None:
        return Goto(HOME, push=False)
    ctx.state.saved = saved
    return RESUME_AGAIN


# The question with an error does not fit one page in Persian: the error and the choices do.
RESUME_AGAIN = error_screen(INVALID_CHOICE, RESUME_QUESTION, RESUME_OPTIONS, nav=False)


def home_nodes(flows: Sequence[Flow]) -> Mapping[str, Node]:
    options = tuple(Option(str(i), flow.label, flow.entry) for i, flow in enumerate(flows, start=1))
    return {
        HOME: Menu(
            None, (*options, Option(LANGUAGE_KEY, LANGUAGE_LABEL, LANGUAGE_NODE)), nav=False
        ),
        LANGUAGE_NODE: Action(_toggle_language),
        RESUME_NODE: Custom(_resume_offer, _resume_answer),
    }
