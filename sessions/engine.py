"""The menu engine: (state, input) → screen. Pure of transport and SQL: flows reach records
through the ports in `ctx.deps`.

Flows are declared as data, a dict of named nodes. A node shows a screen and handles the answer;
the engine owns navigation that every screen shares: `0` back, `00` home, `98` more.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from sessions.normalize import normalize
from sessions.screens import (
    BACK_KEY,
    HOME_KEY,
    LANGS,
    MORE_KEY,
    Lang,
    Screen,
    T,
    one_page,
    render_pages,
    static,
)
from sessions.state import HOME, State


@dataclass(frozen=True, slots=True)
class Goto:
    node: str
    push: bool = True  # remember the current screen for `0`


Outcome = Goto | Screen


@dataclass(slots=True)
class Ctx:
    state: State
    msisdn: str
    now: float
    deps: Any  # the services a flow uses (sessions.services.Services); Any keeps nodes generic


class Node(Protocol):
    @property
    def waits(self) -> bool:
        """True when the node's screen waits for input (and so is a place `0` can return to)."""
        ...

    async def show(self, ctx: Ctx) -> Outcome: ...

    async def handle(self, ctx: Ctx, text: str) -> Outcome: ...


INVALID_CHOICE = T("گزینه نامعتبر است.", "Invalid choice.")


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    label: T
    goto: str
    sets: Mapping[str, str] = field(default_factory=dict)  # values stored when chosen


@dataclass(frozen=True, slots=True)
class Menu:
    title: T | None
    options: tuple[Option, ...]
    nav: bool = True
    # Its two screens, built once: the same objects on every hop, so they render once.
    _plain: Screen = field(init=False, repr=False, compare=False)
    _error: Screen = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_plain", static(self._build(error=False)))
        object.__setattr__(self, "_error", static(self._build(error=True)))

    @property
    def waits(self) -> bool:
        return True

    def screens(self) -> tuple[Screen, ...]:
        return (self._screen(), self._screen(error=True))

    def error_screens(self) -> tuple[Screen, ...]:
        return (self._error,)

    def _screen(self, error: bool = False) -> Screen:
        return self._error if error else self._plain

    def _build(self, error: bool) -> Screen:
        options = tuple((o.key, o.label) for o in self.options)
        if not error:
            body = () if self.title is None else (self.title,)
            return Screen(body=body, options=options, nav=self.nav)
        return error_screen(INVALID_CHOICE, self.title, options, nav=self.nav)

    async def show(self, ctx: Ctx) -> Outcome:
        return self._screen()

    async def handle(self, ctx: Ctx, text: str) -> Outcome:
        for option in self.options:
            if option.key == text:
                ctx.state.data.update(option.sets)
                return Goto(option.goto)
        return self._screen(error=True)


def error_screen(
    error: T, prompt: T | None, options: tuple[tuple[str, T], ...] = (), *, nav: bool = True
) -> Screen:
    """An error above the prompt and its choices, on the first page: where both do not fit, the
    error replaces the prompt (the choices stay), and where even that is too long (the main
    menu in Persian) the choices are shown again without it."""

    def fitting(lang: Lang) -> str:
        candidates = [[error.get(lang)], []]
        if prompt is not None:
            candidates.insert(0, [error.get(lang), prompt.get(lang)])
        for lines in candidates:
            screen = Screen(body=tuple(T(line, line) for line in lines), options=options, nav=nav)
            if one_page(screen, lang):
                return "\n".join(lines)
        return ""

    fa, en = fitting(LANGS[0]), fitting(LANGS[1])
    return Screen(body=(T(fa, en),) if fa or en else (), options=options, nav=nav)


class Invalid(Exception):
    """Raised by an answer parser; `message` is shown above the prompt."""

    def __init__(self, message: T) -> None:
        super().__init__(message.en)
        self.message = message


Parser = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Ask:
    """Asks for a value, validates it, stores it under `field` and moves on."""

    prompt: T
    field: str
    parse: Parser
    goto: str
    give_up: T  # the end screen after `max_tries` invalid answers
    errors: tuple[T, ...] = ()  # every message `parse` can raise, so `check` can fit them
    max_tries: int = 3
    # Parses with the session at hand (a length the operator sets); instead of `parse`.
    parse_in: Callable[[Ctx, str], str] | None = None
    # Shown under an error instead of `prompt` when both would not fit one page: the choices
    # the prompt offers must stay on the first page.
    retry: T | None = None
    # Choices under the prompt that lead elsewhere instead of being parsed (another kind of
    # identifier); and values stored with a parsed answer.
    options: tuple[Option, ...] = ()
    sets: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Built once, rendered once (`dataclasses.field`: this class has a field named `field`).
    _prompt: Screen = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_prompt", static(Screen(body=(self.prompt,), options=self._keys)))

    @property
    def _keys(self) -> tuple[tuple[str, T], ...]:
        return tuple((o.key, o.label) for o in self.options)

    @property
    def waits(self) -> bool:
        return True

    def screens(self) -> tuple[Screen, ...]:
        out = [self._prompt, *self.error_screens()]
        out += [Screen(body=(error, self.give_up), end=True) for error in self.errors]
        return tuple(out)

    def error_screens(self) -> tuple[Screen, ...]:
        return tuple(self._again(error) for error in self.errors)

    def _again(self, error: T) -> Screen:
        whole = Screen(body=(error, self.prompt), options=self._keys)
        if all(one_page(whole, lang) for lang in LANGS):
            return whole
        if self.retry is not None:
            return Screen(body=(error, self.retry), options=self._keys)
        return whole if not self.options else Screen(body=(error,), options=self._keys)

    async def show(self, ctx: Ctx) -> Outcome:
        return self._prompt

    async def handle(self, ctx: Ctx, text: str) -> Outcome:
        for option in self.options:
            if option.key == text:
                ctx.state.data.update(option.sets)
                return Goto(option.goto)
        try:
            value = self.parse(text) if self.parse_in is None else self.parse_in(ctx, text)
        except Invalid as exc:
            ctx.state.tries += 1
            if ctx.state.tries >= self.max_tries:
                return Screen(body=(exc.message, self.give_up), end=True)
            return self._again(exc.message)
        ctx.state.data[self.field] = value
        ctx.state.data.update(self.sets)
        return Goto(self.goto)


@dataclass(frozen=True, slots=True)
class Action:
    """Runs code on entry (a lookup, a reset) and shows its outcome; waits for nothing itself."""

    run: Callable[[Ctx], Awaitable[Outcome]]

    @property
    def waits(self) -> bool:
        return False

    async def show(self, ctx: Ctx) -> Outcome:
        outcome = await self.run(ctx)
        if isinstance(outcome, Screen) and not outcome.end:
            # An action's screen must close the session or redirect: an answer to it would run
            # the action again (a second reset, a second ticket).
            raise RuntimeError("an Action must end the session or go to a waiting node")
        return outcome

    async def handle(self, ctx: Ctx, text: str) -> Outcome:
        raise RuntimeError("an Action waits for no input")


@dataclass(frozen=True, slots=True)
class Custom:
    """A screen built at run time (a list from the records) with its own answer handling."""

    render: Callable[[Ctx], Awaitable[Outcome]]
    answer: Callable[[Ctx, str], Awaitable[Outcome]]

    @property
    def waits(self) -> bool:
        return True

    async def show(self, ctx: Ctx) -> Outcome:
        return await self.render(ctx)

    async def handle(self, ctx: Ctx, text: str) -> Outcome:
        return await self.answer(ctx, text)


class Page(NamedTuple):
    """What the engine answers for one hop."""

    text: str
    end: bool


MAX_REDIRECTS = 16
MAX_STACK = 24


class Engine:
    def __init__(self, nodes: Mapping[str, Node]) -> None:
        if HOME not in nodes:
            raise ValueError("a flow set needs a 'home' node")
        self.nodes = dict(nodes)

    async def start(self, ctx: Ctx) -> Page:
        ctx.state.node = HOME
        ctx.state.stack.clear()
        ctx.state.saved = None  # leaving an offer to resume declines it
        return await self._resolve(ctx, await self.nodes[HOME].show(ctx))

    async def show_current(self, ctx: Ctx) -> Page:
        return await self._resolve(ctx, await self.node(ctx.state.node).show(ctx))

    async def step(self, ctx: Ctx, raw: str) -> Page:
        state = ctx.state
        text = normalize(raw)
        if text == MORE_KEY and state.page + 1 < len(state.pages):
            state.page += 1
            return self._current_page(state)
        if text == BACK_KEY and state.page > 0:
            state.page -= 1
            return self._current_page(state)
        if text == HOME_KEY:
            return await self.start(ctx)
        if text == BACK_KEY:
            if not state.stack:
                return await self.start(ctx)
            state.node = state.stack.pop()
            state.tries = 0
            return await self._resolve(ctx, await self.node(state.node).show(ctx))
        if state.ending:  # input on a closing screen's pages: nothing left to answer
            state.page = len(state.pages) - 1
            return self._current_page(state)
        return await self._resolve(ctx, await self.node(state.node).handle(ctx, text))

    def node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:  # a stored state from an older menu version: start over
            return self.nodes[HOME]

    async def _resolve(self, ctx: Ctx, outcome: Outcome) -> Page:
        state = ctx.state
        for _ in range(MAX_REDIRECTS):
            if isinstance(outcome, Screen):
                return self._show(state, outcome)
            if outcome.push and self.node(state.node).waits and state.node != outcome.node:
                state.stack = [*state.stack, state.node][-MAX_STACK:]
            state.node = outcome.node if outcome.node in self.nodes else HOME
            state.tries = 0
            outcome = await self.nodes[state.node].show(ctx)
        raise RuntimeError(f"too many redirects from {state.node}")

    def _show(self, state: State, screen: Screen) -> Page:
        state.pages = render_pages(screen, state.lang)
        state.page = 0
        state.ending = screen.end
        return self._current_page(state)

    @staticmethod
    def _current_page(state: State) -> Page:
        last = state.page == len(state.pages) - 1
        return Page(state.pages[state.page], end=state.ending and last)
