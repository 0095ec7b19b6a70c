"""Placeholder types: how a parameter is validated, shown in each language, and stretched worst.

Each type checks the caller's value (never cutting or guessing), formats it for "fa" or "en", and
offers the worst-case values the budget check renders with.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, ClassVar, Literal

from templates_sms.digits import Lang, format_amount, localize_digits, to_ascii_digits
from templates_sms.errors import TemplateDefinitionError, TemplateError
from templates_sms.jalali import (
    MONTHS_EN,
    MONTHS_FA,
    TEHRAN,
    jalali_date,
    jalali_datetime,
    jalali_to_gregorian,
    parse_send_at,
    to_tehran,
)

LANGS: tuple[Lang, ...] = ("fa", "en")
Gender = Literal["male", "female", "unknown"]
GENDERS: tuple[Gender, ...] = ("male", "female", "unknown")
HONORIFICS: Mapping[Lang, Mapping[Gender, str]] = {
    "fa": {"male": "جناب آقای", "female": "سرکار خانم", "unknown": "کاربر گرامی"},
    "en": {"male": "Mr", "female": "Ms", "unknown": "Dear user"},
}

# The letter the budget check fills names and texts with: any Persian letter forces UCS-2, which
# costs more per character than GSM-7 even counting extension characters twice (67 < 153 / 2).
WORST_LETTER = "ش"
_ZWNJ = "\u200c"
# Arabic yeh and kaf arrive from Arabic keyboards; Persian readers expect ی and ک.
_ARABIC_TO_PERSIAN = str.maketrans({"ي": "ی", "ك": "ک", "ى": "ی"})
_CODE_RE = re.compile(r"[A-Za-z0-9]+")


def _invalid(key: str, message: str) -> TemplateError:
    return TemplateError("invalid_parameter", key, message)


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One declared parameter of a template. `prefix` is shown before an optional value only."""

    key: str
    optional: bool = False
    prefix: Mapping[Lang, str] = field(default_factory=dict)

    type_name: ClassVar[str] = ""

    def check(self, value: object) -> object:
        """The normalised value, or TemplateError("invalid_parameter") naming this field."""
        raise NotImplementedError

    def format(self, value: Any, lang: Lang, values: Mapping[str, object]) -> str:
        """The text for a checked value; `values` holds every checked parameter of the render."""
        raise NotImplementedError

    def format_absent(self, lang: Lang, values: Mapping[str, object]) -> str:
        """The text for an optional parameter the caller left out."""
        return ""

    def worst_values(self, lang: Lang) -> list[object]:
        """Raw values that together reach the longest rendering of this placeholder."""
        raise NotImplementedError

    def references(self) -> tuple[str, ...]:
        """Other placeholders this one prints, so they count as used in the text."""
        return ()


@dataclass(frozen=True, slots=True)
class TextPlaceholder(Placeholder):
    """Free text in any script; whitespace is collapsed, control and bidi characters refused."""

    max_len: int = 0
    type_name: ClassVar[str] = "text"

    def check(self, value: object) -> object:
        if not isinstance(value, str):
            raise _invalid(self.key, "expected a string")
        text = " ".join(value.split()).translate(_ARABIC_TO_PERSIAN)
        if not text:
            raise _invalid(self.key, "must not be empty")
        for ch in text:
            # Surrogates, private use, unassigned and format characters (bidi overrides) are
            # refused; ZWNJ is part of Persian spelling. Outside the BMP a character costs two
            # UCS-2 units, which would break the worst-case budget.
            if ord(ch) > 0xFFFF or (
                unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch != _ZWNJ
            ):
                raise _invalid(self.key, f"character U+{ord(ch):04X} is not allowed")
        if len(text) > self.max_len:
            raise _invalid(self.key, f"longer than {self.max_len} characters ({len(text)})")
        return text

    def format(self, value: Any, lang: Lang, values: Mapping[str, object]) -> str:
        return str(value)

    def worst_values(self, lang: Lang) -> list[object]:
        return [WORST_LETTER * self.max_len]


@dataclass(frozen=True, slots=True)
class NamePlaceholder(TextPlaceholder):
    """A name: letters of any script (Persian, Latin), their marks, spaces and ZWNJ, nothing else.

    A caller could otherwise put a link or a sentence where a name goes and have it sent from
    the official line.
    """

    type_name: ClassVar[str] = "name"

    def check(self, value: object) -> object:
        text = str(TextPlaceholder.check(self, value))
        for ch in text:
            if ch not in (" ", _ZWNJ) and unicodedata.category(ch)[0] not in ("L", "M"):
                raise _invalid(self.key, "expected letters and spaces only")
        return text


@dataclass(frozen=True, slots=True)
class DigitsPlaceholder(Placeholder):
    """A number typed back by the user (a ticket): ASCII digits in, Persian digits in fa."""

    length: int | None = None
    max_len: int = 0
    type_name: ClassVar[str] = "digits"

    def check(self, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            value = str(value)
        if not isinstance(value, str) or not value.isascii() or not value.isdigit():
            raise _invalid(self.key, "expected ASCII digits")
        if self.length is not None and len(value) != self.length:
            raise _invalid(self.key, f"expected exactly {self.length} digits")
        if len(value) > self.max_len:
            raise _invalid(self.key, f"longer than {self.max_len} digits")
        return value

    def format(self, value: Any, lang: Lang, values: Mapping[str, object]) -> str:
        return localize_digits(str(value), lang)

    def worst_values(self, lang: Lang) -> list[object]:
        return ["9" * (self.length or self.max_len)]


@dataclass(frozen=True, slots=True)
class CodePlaceholder(Placeholder):
    """A password or tracking code: Latin letters and digits, never converted, typed as shown."""

    max_len: int = 0
    min_len: int = 1
    # A code the reader types back as digits (an activation code): no letters.
    digits: bool = False
    type_name: ClassVar[str] = "code"

    def check(self, value: object) -> object:
        if not isinstance(value, str):
            raise _invalid(self.key, "expected a string")
        # Typed back in ASCII, so digits of every script are written as ASCII ones.
        value = to_ascii_digits(value)
        if self.digits and not (value.isascii() and value.isdigit()):
            raise _invalid(self.key, "expected digits")
        if not _CODE_RE.fullmatch(value):
            raise _invalid(self.key, "expected Latin letters and digits")
        if not self.min_len <= len(value) <= self.max_len:
            raise _invalid(
                self.key, f"expected {self.min_len} to {self.max_len} characters ({len(value)})"
            )
        return value

    def format(self, value: Any, lang: Lang, values: Mapping[str, object]) -> str:
        return str(value)

    def worst_values(self, lang: Lang) -> list[object]:
        return ["9" * self.max_len if self.digits else "W" * self.max_len]


# Characters a link may hold: each one GSM-7 basic, so the worst case stays what the budget saw.
_LINK_RE = re.compile(r"https://[A-Za-z0-9.-]+(?:/[A-Za-z0-9\-._/?#!$&'()*+,;=%:]*)?")


def link_host(value: str) -> str:
    """The host of a link LinkPlaceholder has checked, lower-cased."""
    return value[len("https://") :].split("/", 1)[0].rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class LinkPlaceholder(Placeholder):
    """An https link, only where a template declares one. No user info or port; the host must
    also be in GATEWAY_TEMPLATE_LINK_HOSTS, which the API checks (the setting is not ours)."""

    max_len: int = 0
    type_name: ClassVar[str] = "link"

    def check(self, value: object) -> object:
        if not isinstance(value, str):
            raise _invalid(self.key, "expected an https link")
        link = value.strip()
        if not _LINK_RE.fullmatch(link):
            raise _invalid(self.key, "expected an https link to a host name, without user or port")
        if len(link) > self.max_len:
            raise _invalid(self.key, f"longer than {self.max_len} characters ({len(link)})")
        return link

    def format(self, value: Any, lang: Lang, values: Mapping[str, object]) -> str:
        return str(value)

    def worst_values(self, lang: Lang) -> list[object]:
        return ["https://" + "w" * (self.max_len - len("https://"))]


def _as_datetime(key: str, value: object) -> datetime:
    """In Tehran time, so that `.date()` is the day the reader lives in."""
    if isinstance(value, str):
        try:
            return to_tehran(parse_send_at(value))
        except ValueError as exc:
            raise _invalid(key, str(exc)) from None
    if isinstance(value, datetime):
        try:
            return to_tehran(value)
        except ValueError as exc:
            raise _invalid(key, str(exc)) from None
    raise _invalid(key, "expected a datetime or an ISO 8601 / Jalali string")


def _worst_moment(lang: Lang) -> list[object]:
    # The 29th of the month with the longest name, at 23:59: two-digit day and hour. Month names
    # are plain letters of one script per language, so the longest one costs the most.
    names = MONTHS_FA if lang == "fa" else MONTHS_EN
    month = 1 + max(range(12), key=lambda index: len(names[index]))
    day = jalali_to_gregorian(1404, month, 29)
    return [datetime.combine(day, time(23, 59), tzinfo=TEHRAN).astimezone(UTC)]


@dataclass(frozen=True, slots=True)
class DatePlaceholder(Placeholder):
    """A calendar day shown in Jalali: a date, an aware datetime (Tehran day) or a string."""

    type_name: ClassVar[str] = "date"

    def check(self, value: object) -> object:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        return _as_datetime(self.key, value).date()

    def format(self, value: Any, lang: Lang, values: Mapping[str, object]) -> str:
        return jalali_date(value, lang)

    def worst_values(self, lang: Lang) -> list[object]:
        return _worst_moment(lang)


@dataclass(frozen=True, slots=True)
class DateTimePlaceholder(Placeholder):
    """A moment shown as a Jalali date and a Tehran clock time."""

    type_name: ClassVar[str] = "datetime"

    def check(self, value: object) -> object:
        return _as_datetime(self.key, value)

    def format(self, value: Any, lang: Lang, values: Mapping[str, object]) -> str:
        return jalali_datetime(value, lang)

    def worst_values(self, lang: Lang) -> list[object]:
        return _worst_moment(lang)


@dataclass(frozen=True, slots=True)
class AmountPlaceholder(Placeholder):
    """Whole rials with thousands separators; `max` bounds the worst case."""

    max: int = 0
    type_name: ClassVar[str] = "amount"

    def check(self, value: object) -> object:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _invalid(self.key, "expected an integer amount in rials")
        if not 0 <= value <= self.max:
            raise _invalid(self.key, f"must be between 0 and {self.max}")
        return value

    def format(self, value: Any, lang: Lang, values: Mapping[str, object]) -> str:
        return format_amount(int(value), lang)

    def worst_values(self, lang: Lang) -> list[object]:
        return [self.max]


@dataclass(frozen=True, slots=True)
class EnumPlaceholder(Placeholder):
    """One of a fixed set of values, each with a label per language."""

    choices: Mapping[str, Mapping[Lang, str]] = field(default_factory=dict)
    type_name: ClassVar[str] = "enum"

    def check(self, value: object) -> object:
        if not isinstance(value, str) or value not in self.choices:
            raise _invalid(self.key, f"expected one of: {', '.join(self.choices)}")
        return value

    def format(self, value: Any, lang: Lang, values: Mapping[str, object]) -> str:
        return self.choices[str(value)][lang]

    def worst_values(self, lang: Lang) -> list[object]:
        return list(self.choices)


@dataclass(frozen=True, slots=True)
class GenderPlaceholder(Placeholder):
    """The salutation: honorific and name («جناب آقای …», «سرکار خانم …»), or «کاربر گرامی» alone.

    With the gender unknown the name is dropped, so the sentence reads well without it. An
    optional gender that is absent counts as unknown.
    """

    name: str = ""
    type_name: ClassVar[str] = "gender"

    def check(self, value: object) -> object:
        if value not in GENDERS:
            raise _invalid(self.key, f"expected one of: {', '.join(GENDERS)}")
        return value

    def format(self, value: Any, lang: Lang, values: Mapping[str, object]) -> str:
        gender: Gender = value
        honorific = HONORIFICS[lang][gender]
        if gender == "unknown":
            return honorific
        return f"{honorific} {values[self.name]}"

    def format_absent(self, lang: Lang, values: Mapping[str, object]) -> str:
        return HONORIFICS[lang]["unknown"]

    def needs_name(self, value: object) -> bool:
        return value in ("male", "female")

    def worst_values(self, lang: Lang) -> list[object]:
        return list(GENDERS)

    def references(self) -> tuple[str, ...]:
        return (self.name,)


PLACEHOLDER_TYPES: Mapping[str, type[Placeholder]] = {
    cls.type_name: cls
    for cls in (
        NamePlaceholder,
        TextPlaceholder,
        DigitsPlaceholder,
        CodePlaceholder,
        DatePlaceholder,
        DateTimePlaceholder,
        AmountPlaceholder,
        EnumPlaceholder,
        GenderPlaceholder,
        LinkPlaceholder,
    )
}

_COMMON_KEYS = {"type", "optional", "prefix"}
_TYPE_KEYS: Mapping[str, set[str]] = {
    "name": {"max_len"},
    "text": {"max_len"},
    "digits": {"length", "max_len"},
    "code": {"max_len", "min_len", "digits"},
    "date": set(),
    "datetime": set(),
    "amount": {"max"},
    "enum": {"choices"},
    "gender": {"name"},
    "link": {"max_len"},
}
_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")


def _positive_int(source: str, table: Mapping[str, object], attr: str) -> int:
    value = table.get(attr)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise TemplateDefinitionError(source, f"{attr} must be a positive integer")
    return value


def _labels(source: str, what: str, table: object) -> dict[Lang, str]:
    """A {fa = "…", en = "…"} table with exactly the two languages, both non-empty."""
    if not isinstance(table, dict):
        raise TemplateDefinitionError(source, f"{what} must be a table with fa and en")
    missing = [lang for lang in LANGS if lang not in table]
    extra = sorted(set(table) - set(LANGS))
    if missing or extra:
        detail = f"missing language {', '.join(missing)}" if missing else f"unknown {extra}"
        raise TemplateDefinitionError(source, f"{what}: {detail}")
    labels: dict[Lang, str] = {}
    for lang in LANGS:
        label = table[lang]
        if not isinstance(label, str) or not label.strip():
            raise TemplateDefinitionError(source, f"{what}.{lang} must be a non-empty string")
        labels[lang] = label
    return labels


def parse_placeholder(source: str, key: str, table: object) -> Placeholder:
    """One `[placeholders.<key>]` table; TemplateDefinitionError on anything unexpected."""
    where = f"{source}: placeholders.{key}"
    if not _KEY_RE.fullmatch(key):
        raise TemplateDefinitionError(where, "name must be lower-case letters, digits and _")
    if not isinstance(table, dict):
        raise TemplateDefinitionError(where, "must be a table")
    type_name = table.get("type")
    if not isinstance(type_name, str) or type_name not in PLACEHOLDER_TYPES:
        raise TemplateDefinitionError(
            where, f"unknown type {type_name!r}; expected one of: {', '.join(PLACEHOLDER_TYPES)}"
        )
    unknown = sorted(set(table) - _COMMON_KEYS - _TYPE_KEYS[type_name])
    if unknown:
        raise TemplateDefinitionError(where, f"unknown keys for type {type_name}: {unknown}")
    optional = table.get("optional", False)
    if not isinstance(optional, bool):
        raise TemplateDefinitionError(where, "optional must be true or false")
    prefix: dict[Lang, str] = {}
    if "prefix" in table:
        if not optional:
            raise TemplateDefinitionError(where, "prefix is only for optional placeholders")
        prefix = _labels(where, "prefix", table["prefix"])

    common: dict[str, Any] = {"key": key, "optional": optional, "prefix": prefix}
    match type_name:
        case "name":
            return NamePlaceholder(**common, max_len=_positive_int(where, table, "max_len"))
        case "text":
            return TextPlaceholder(**common, max_len=_positive_int(where, table, "max_len"))
        case "code":
            max_len = _positive_int(where, table, "max_len")
            min_len = _positive_int(where, table, "min_len") if "min_len" in table else 1
            if min_len > max_len:
                raise TemplateDefinitionError(where, "min_len must not exceed max_len")
            digits = table.get("digits", False)
            if not isinstance(digits, bool):
                raise TemplateDefinitionError(where, "digits must be true or false")
            return CodePlaceholder(**common, max_len=max_len, min_len=min_len, digits=digits)
        case "digits":
            if "length" in table and "max_len" in table:
                raise TemplateDefinitionError(where, "give either length or max_len, not both")
            if "length" in table:
                length = _positive_int(where, table, "length")
                return DigitsPlaceholder(**common, length=length, max_len=length)
            return DigitsPlaceholder(**common, max_len=_positive_int(where, table, "max_len"))
        case "link":
            max_len = _positive_int(where, table, "max_len")
            if max_len < len("https://a.ir"):
                raise TemplateDefinitionError(where, "max_len is too short for a link")
            return LinkPlaceholder(**common, max_len=max_len)
        case "date":
            return DatePlaceholder(**common)
        case "datetime":
            return DateTimePlaceholder(**common)
        case "amount":
            return AmountPlaceholder(**common, max=_positive_int(where, table, "max"))
        case "enum":
            choices = table.get("choices")
            if not isinstance(choices, dict) or not choices:
                raise TemplateDefinitionError(where, "choices must be a non-empty table")
            parsed = {
                str(value): _labels(where, f"choices.{value}", labels)
                for value, labels in choices.items()
            }
            return EnumPlaceholder(**common, choices=parsed)
        case _:
            name = table.get("name")
            if not isinstance(name, str):
                raise TemplateDefinitionError(where, "name must name the name placeholder")
            return GenderPlaceholder(**common, name=name)
