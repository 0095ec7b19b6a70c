"""Input normalisation: what a feature phone sends becomes one canonical string.

Persian (U+06F0–U+06F9) and Arabic-Indic (U+0660–U+0669) digits become ASCII; Arabic yeh/kaf become
Persian; ZWNJ, kashida, bidi marks and other invisible characters go; runs of spaces collapse.
"""

from __future__ import annotations

import re

_TRANSLATE = str.maketrans(
    {
        **{chr(0x06F0 + i): str(i) for i in range(10)},
        **{chr(0x0660 + i): str(i) for i in range(10)},
        "\u064a": "\u06cc",  # Arabic yeh → Persian yeh
        "\u0649": "\u06cc",  # alef maksura → Persian yeh
        "\u0643": "\u06a9",  # Arabic kaf → Persian keheh
        "\u0629": "\u0647",  # teh marbuta → heh
        "\u200c": " ",  # ZWNJ: words joined by it compare equal to spaced ones
        "\u0640": None,  # kashida (tatweel)
        "\u200b": None,
        "\u200d": None,
        "\u200e": None,
        "\u200f": None,
        "\u202a": None,
        "\u202b": None,
        "\u202c": None,
        "\u202d": None,
        "\u202e": None,
        "\u2066": None,
        "\u2067": None,
        "\u2068": None,
        "\u2069": None,
        "\ufeff": None,
        "\u00a0": " ",
        "\t": " ",
        "\r": " ",
        "\n": " ",
    }
)
_SPACES = re.compile(r" {2,}")
ZWNJ = "\u200c"
_NON_DIGIT = re.compile(r"[\s\-_.()/]")


def normalize(text: str) -> str:
    """The canonical form of free input: ASCII digits, Persian letters, single spaces, trimmed."""
    return _SPACES.sub(" ", text.translate(_TRANSLATE)).strip()


_TIDY = str.maketrans(
    {
        "\u064a": "\u06cc",
        "\u0649": "\u06cc",
        "\u0643": "\u06a9",
        "\u0640": None,
        **{ch: None for ch in "\u200b\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"},
        **{ch: None for ch in "\u2066\u2067\u2068\u2069\ufeff"},
    }
)
_WHITESPACE = re.compile(r"\s+")


def tidy(text: str) -> str:
    """Text that is kept and shown (names, complaint texts): Persian letters for Arabic ones,
    invisible marks and kashida gone, whitespace collapsed, but ZWNJ kept, since it is part of
    Persian spelling («حسن‌زاده» is not «حسن زاده»). Digits stay as typed."""
    return _WHITESPACE.sub(" ", text.translate(_TIDY)).strip()


def digits_only(text: str) -> str:
    """Normalised input with the separators people type inside numbers removed (0912-123 4567)."""
    return _NON_DIGIT.sub("", normalize(text))


def to_persian_digits(text: str) -> str:
    return text.translate(_TO_PERSIAN)


_TO_PERSIAN = str.maketrans({str(i): chr(0x06F0 + i) for i in range(10)})
