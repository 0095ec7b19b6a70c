"""Digits and amounts as Persian readers expect them, and back to ASCII for machines."""

from __future__ import annotations

from typing import Literal

Lang = Literal["fa", "en"]

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
# Persian typography separates thousands with U+066C; a Latin comma reads as a decimal mark.
PERSIAN_THOUSANDS_SEPARATOR = "٬"

_TO_PERSIAN = str.maketrans("0123456789" + ARABIC_INDIC_DIGITS, PERSIAN_DIGITS * 2)
_TO_ASCII = str.maketrans(PERSIAN_DIGITS + ARABIC_INDIC_DIGITS, "0123456789" * 2)


def to_persian_digits(text: str) -> str:
    """ASCII and Arabic-Indic digits become Persian digits; everything else is kept."""
    return text.translate(_TO_PERSIAN)


def to_ascii_digits(text: str) -> str:
    """Persian and Arabic-Indic digits become ASCII, as feature phones send all three."""
    return text.translate(_TO_ASCII)


def localize_digits(text: str, lang: Lang) -> str:
    return to_persian_digits(text) if lang == "fa" else text


def format_amount(amount: int, lang: Lang) -> str:
    """An integer amount with thousands separators: «۱٬۲۵۰٬۰۰۰» in fa, "1,250,000" in en.

    The unit (rial) is left to the sentence around it.
    """
    grouped = f"{amount:,}"
    if lang == "fa":
        return to_persian_digits(grouped.replace(",", PERSIAN_THOUSANDS_SEPARATOR))
    return grouped
