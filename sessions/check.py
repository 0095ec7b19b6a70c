"""Proof that every screen of every flow fits a USSD page, in every language.

Static screens come from the nodes themselves; screens built from records come from each flow's
worst-case samples. A screen may span pages, but never more than MAX_PAGES, and no page may exceed
its budget (80 UCS-2 or 182 GSM-7 characters).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sessions.engine import Menu
from sessions.flows.base import Flow
from sessions.flows.home import RESUME_AGAIN, RESUME_OPTIONS, RESUME_QUESTION
from sessions.flows.registry import SERVICES, all_nodes
from sessions.screens import LANGS, Screen, page_fits, render_pages
from sessions.state import HOME
from sessions.ussd import EXPIRED, MISMATCH, UNAVAILABLE

MAX_PAGES = 4


@dataclass(frozen=True, slots=True)
class ScreenReport:
    where: str
    lang: str
    pages: list[str]
    max_pages: int = MAX_PAGES

    @property
    def breach(self) -> str | None:
        for page in self.pages:
            if not page_fits(page):
                return f"{self.where} [{self.lang}]: a page is over budget: {page!r}"
        if len(self.pages) > self.max_pages:
            return f"{self.where} [{self.lang}]: {len(self.pages)} pages (at most {self.max_pages})"
        return None


def all_screens(flows: Sequence[Flow] = SERVICES) -> Iterable[tuple[str, Screen]]:
    for name, node in all_nodes(flows).items():
        screens = getattr(node, "screens", None)
        if callable(screens):
            for i, screen in enumerate(screens()):
                yield f"{name}#{i}", screen
    for flow in flows:
        for i, screen in enumerate(flow.samples()):
            yield f"{flow.key}:sample#{i}", screen
    yield "resume", Screen(body=(RESUME_QUESTION,), options=RESUME_OPTIONS, nav=False)


# Notices that close a session in one answer: they have no "more" to page with.
NOTICES = {
    "notice:expired": EXPIRED,
    "notice:mismatch": MISMATCH,
    "notice:unavailable": UNAVAILABLE,
}


def one_page_screens(flows: Sequence[Flow] = SERVICES) -> Iterable[tuple[str, Screen]]:
    """The main menu, and the screens that answer a wrong input: their choices must stay on
    their first and only page."""
    nodes = all_nodes(flows)
    home = nodes[HOME]
    if isinstance(home, Menu):
        yield "home:menu", home.screens()[0]
    for name, node in nodes.items():
        screens = getattr(node, "error_screens", None)
        if callable(screens):
            for i, screen in enumerate(screens()):
                yield f"{name}:error#{i}", screen
    yield "resume:error", RESUME_AGAIN


def check_screens(flows: Sequence[Flow] = SERVICES) -> list[ScreenReport]:
    reports = [
        ScreenReport(where, lang, render_pages(screen, lang))
        for where, screen in all_screens(flows)
        for lang in LANGS
    ]
    reports += [
        ScreenReport(where, lang, render_pages(screen, lang), max_pages=1)
        for where, screen in one_page_screens(flows)
        for lang in LANGS
    ]
    for where, text in NOTICES.items():
        for lang in LANGS:
            pages = render_pages(Screen(body=(text,), end=True), lang)
            reports.append(ScreenReport(where, lang, pages, max_pages=1))
    return reports
