"""Telecom text budgets: GSM-7 vs UCS-2, for USSD screens and SMS segments.

One place decides how many characters a text costs on the air, so the USSD screen fitter and the
SMS segment counter can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# 3GPP TS 23.038 default alphabet (basic table) and the extension table (each costs two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

Encoding = Literal["gsm7", "ucs2"]

USSD_MAX = {"gsm7": 182, "ucs2": 80}
SMS_SINGLE = {"gsm7": 160, "ucs2": 70}
SMS_PART = {"gsm7": 153, "ucs2": 67}


GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION


# Counted with str and set methods that run in C: every USSD screen is measured on every hop,
# and a loop over its characters in Python cost as much as the hop's SQL.
def encoding_of(text: str) -> Encoding:
    """GSM-7 when every character is in the default alphabet, else UCS-2 (any Persian letter)."""
    return "gsm7" if GSM7_ALL.issuperset(text) else "ucs2"


def air_length(text: str, encoding: Encoding | None = None) -> int:
    """Characters as the network counts them: septets for GSM-7, UTF-16 code units for UCS-2."""
    enc = encoding or encoding_of(text)
    if enc == "gsm7":  # an extension character is an escape plus a septet
        return len(text) + sum(text.count(ch) for ch in GSM7_EXTENSION)
    # Outside the BMP a character is a surrogate pair; a lone surrogate still costs one unit.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _char_costs(text: str, encoding: Encoding) -> list[int]:
    if encoding == "gsm7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def ussd_fits(text: str) -> bool:
    enc = encoding_of(text)
    return air_length(text, enc) <= USSD_MAX[enc]


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: Encoding
    length: int
    parts: int


def sms_segments(text: str) -> Segments:
    """How many SMS parts a text needs (70/67 UCS-2, 160/153 GSM-7).

    Parts are packed character by character: a handset never splits a GSM-7 escape sequence or a
    UTF-16 surrogate pair across two parts, so a text can need one part more than length / 67.
    """
    enc = encoding_of(text)
    costs = _char_costs(text, enc)
    length = sum(costs)
    if length <= SMS_SINGLE[enc]:
        return Segments(enc, length, 1 if length else 0)
    per_part = SMS_PART[enc]
    parts, used = 1, 0
    for cost in costs:
        if used + cost > per_part:
            parts, used = parts + 1, 0
        used += cost
    return Segments(enc, length, parts)
