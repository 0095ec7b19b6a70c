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


def encoding_of(text: str) -> Encoding:
    """GSM-7 when every character is in the default alphabet, else UCS-2 (any Persian letter)."""
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION:
            return "ucs2"
    return "gsm7"


def _char_costs(text: str, encoding: Encoding) -> list[int]:
    # An extension character is an escape plus a septet; outside the BMP a surrogate pair.
    if encoding == "gsm7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def air_length(text: str, encoding: Encoding | None = None) -> int:
    """Characters as the network counts them: septets for GSM-7, UTF-16 code units for UCS-2."""
    enc = encoding or encoding_of(text)
    return sum(_char_costs(text, enc))


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
