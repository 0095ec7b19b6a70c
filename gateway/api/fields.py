"""What every `/v1` model shares: identifiers through the domain validators, SMS-safe text, times.

Every text a caller sends is normalised here (digits, Arabic ي/ك, invisible characters), and every
identifier goes through the domain validators, so a handler only ever sees canonical values.
Request models are strict (no silent type coercion) and refuse unknown fields.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sessions import validators
from sessions.normalize import ZWNJ, tidy
from sessions.services.registration import NAME_MAX

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def sms_text(max_len: int) -> Callable[[str], str]:
    """A validator for text that ends up in an SMS: normalised, printable, at most `max_len`."""

    def check(value: str) -> str:
        text = tidy(value)
        for ch in text:
            if ch == ZWNJ:
                continue
            # What the SMS renderer refuses: control, format, private-use and unassigned
            # characters, and anything outside the BMP (two UCS-2 units would break the budget).
            if ord(ch) > 0xFFFF or unicodedata.category(ch) in _REFUSED_CATEGORIES:
                raise ValueError(f"character U+{ord(ch):04X} is not allowed")
        if len(text) > max_len:
            raise ValueError(f"at most {max_len} characters ({len(text)} given)")
        return text

    return check


_PERSIAN_LETTERS = re.compile(r"[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")


def english_text(max_len: int) -> Callable[[str], str]:
    """SMS-safe text with no Persian or Arabic letters: an English name, printed inside English
    sentences."""
    plain = sms_text(max_len)

    def check(value: str) -> str:
        text = plain(value)
        if _PERSIAN_LETTERS.search(text):
            raise ValueError("an English name has no Persian letters")
        return text

    return check


NationalId = Annotated[
    str,
    AfterValidator(validators.national_id),
    Field(
        description="National ID (کد ملی): 10 digits with a valid check digit; Persian or "
        "Arabic-Indic digits are accepted.",
        examples=["0012345679"],
    ),
]
Mobile = Annotated[
    str,
    AfterValidator(validators.mobile),
    Field(
        description="Mobile number: 09…, 9…, 989…, +989… or 00989…, in any digit script; "
        "stored and answered as 09XXXXXXXXX.",
        examples=["09121234567"],
    ),
]
PersonName = Annotated[
    str,
    AfterValidator(sms_text(NAME_MAX)),
    Field(json_schema_extra={"maxLength": NAME_MAX}),
]

STRICT = ConfigDict(strict=True, extra="forbid")


class ErrorOut(BaseModel):
    """Every error answer: a stable `code`, a human `message`, and the offending `field`."""

    code: str = Field(description="Stable error code.", examples=["invalid_field"])
    message: str = Field(description="What is wrong, in English.")
    field: str | None = Field(None, description="The field at fault.", examples=["status"])


class CallbackErrorOut(BaseModel):
    """Every refused operator or provider callback: a stable `code` and the `fields` at fault."""

    code: str = Field(description="Stable error code.", examples=["missing_fields"])
    message: str = Field(description="What is wrong, in English.")
    fields: list[str] = Field(
        default_factory=list, description="The fields at fault.", examples=[["phoneNumber"]]
    )


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


Timestamp = Annotated[datetime, Field(description="ISO 8601, UTC.")]
