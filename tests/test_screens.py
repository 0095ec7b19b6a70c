"""Screen fitting: every page within budget, nothing cut, and `check` proves every screen fits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sessions.check import check_screens
from sessions.engine import Menu, Option
from sessions.screens import Screen, T, page_fits, paginate, render_pages
from templates_sms.gsm import air_length, encoding_of

ROOT = Path(__file__).resolve().parent.parent

_persian = st.text(alphabet="ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی ۰۱۲۳۴۵۶۷۸۹", min_size=0, max_size=60)
_latin = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ABC0123456789.,", min_size=0, max_size=120)


def test_encodings_and_budgets() -> None:
    assert encoding_of("1 Registration status") == "gsm7"
    assert encoding_of("۱ پیگیری") == "ucs2"
    assert page_fits("a" * 182)
    assert not page_fits("a" * 183)
    assert page_fits("ب" * 80)
    assert not page_fits("ب" * 81)
    assert not page_fits("a" * 79 + "ب" * 2)  # one Persian letter makes the whole screen UCS-2
    assert air_length("[]") == 4  # GSM-7 extension characters cost two septets


@settings(max_examples=200)
@given(st.lists(st.one_of(_persian, _latin), min_size=1, max_size=12), st.booleans())
def test_pages_fit_and_keep_every_word(lines: list[str], end: bool) -> None:
    pages = paginate(lines, "fa", end=end, nav=not end)
    assert all(page_fits(p) for p in pages)
    words_in = [w for line in lines for w in line.split(" ") if w]
    shown: list[str] = []
    for i, page in enumerate(pages):
        page_lines = page.split("\n")
        chrome = (0 if end else 1) + (0 if i == len(pages) - 1 else 1)  # nav, then "more"
        shown.extend(page_lines[: len(page_lines) - chrome])
    shown_words = [w for line in shown for w in line.split(" ") if w]
    assert "".join(shown_words) == "".join(words_in)


def test_a_word_longer_than_a_page_is_split_not_cut() -> None:
    word = "ب" * 200
    pages = render_pages(Screen(body=(T(word, word),), end=True), "fa")
    assert all(page_fits(p) for p in pages)
    assert "".join(p.split("\n")[0] for p in pages) == word


def test_every_shipped_screen_fits_in_both_languages() -> None:
    reports = check_screens()
    assert reports
    assert {r.lang for r in reports} == {"fa", "en"}
    assert [r.breach for r in reports if r.breach] == []


def test_main_menu_fits_one_page_in_both_languages() -> None:
    home = next(r for r in check_screens() if r.where == "home#0" and r.lang == "fa")
    assert len(home.pages) == 1


def test_check_command_exits_zero() -> None:
    done = subprocess.run(
        [sys.executable, "run.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 over budget" in done.stdout


def test_a_static_screen_renders_once_and_a_built_one_keeps_nothing() -> None:
    menu = Menu(T("عنوان", "Title"), (Option("1", T("یک", "One"), "home"),))
    shown = menu._screen()
    assert shown is menu._screen()  # the same object on every hop
    first = render_pages(shown, "fa")
    first.append("changed by a caller")
    assert render_pages(shown, "fa") == first[:-1]  # the kept pages are not the caller's list
    assert shown._rendered is not None
    assert set(shown._rendered) == {"fa"}
    built = Screen(body=(T("نام: حسن‌زاده", "Name: Hassanzadeh"),))
    assert render_pages(built, "fa") == render_pages(built, "fa")
    assert built._rendered is None  # a screen built on a hop (with a caller's records) is not kept
