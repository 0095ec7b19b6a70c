"""Jalali (Solar Hijri) dates in Tehran time: shown in SMS texts, parsed from `send_at` fields."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jdatetime

from templates_sms.digits import Lang, localize_digits, to_ascii_digits


def _tehran() -> tzinfo:
    # A system without tzdata still gets Tehran right for every date since Iran dropped DST in 2022.
    try:
        return ZoneInfo("Asia/Tehran")
    except ZoneInfoNotFoundError:
        return timezone(timedelta(hours=3, minutes=30), "Asia/Tehran")


TEHRAN = _tehran()

MONTHS_FA = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)
MONTHS_EN = (
    "Farvardin",
    "Ordibehesht",
    "Khordad",
    "Tir",
    "Mordad",
    "Shahrivar",
    "Mehr",
    "Aban",
    "Azar",
    "Dey",
    "Bahman",
    "Esfand",
)

# Send times outside these years are typing mistakes, and far enough off to overflow on conversion.
_MIN_YEAR, _MAX_YEAR = 1900, 2200
# Four-digit years below this are Jalali (1404 ≈ 2025); above it Gregorian.
_JALALI_YEAR_LIMIT = 1700


def to_tehran(value: datetime) -> datetime:
    """An aware datetime in Tehran time; a naive one is refused as ambiguous."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime needs a timezone (a naive one is ambiguous)")
    return value.astimezone(TEHRAN)


def _jalali_of(value: date | datetime) -> jdatetime.date:
    day = to_tehran(value).date() if isinstance(value, datetime) else value
    return jdatetime.date.fromgregorian(date=day)


def jalali_date(value: date | datetime, lang: Lang) -> str:
    """«۳۰ آبان ۱۴۰۴» in fa, "30 Aban 1404" in en; an aware datetime is taken in Tehran time."""
    j = _jalali_of(value)
    months = MONTHS_FA if lang == "fa" else MONTHS_EN
    return localize_digits(f"{j.day} {months[j.month - 1]} {j.year}", lang)


def jalali_datetime(value: datetime, lang: Lang) -> str:
    """«۳۰ آبان ۱۴۰۴ ساعت ۱۴:۰۵» in fa, "30 Aban 1404, 14:05" in en, in Tehran time."""
    local = to_tehran(value)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if lang == "fa":
        return f"{jalali_date(local, lang)} ساعت {localize_digits(clock, lang)}"
    return f"{jalali_date(local, lang)}, {clock}"


def jalali_month_length(year: int, month: int) -> int:
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not a Jalali month (1-12)")
    if month <= 6:
        return 31
    if month <= 11:
        return 30
    return 30 if jdatetime.date(year, 1, 1).isleap() else 29


def jalali_to_gregorian(year: int, month: int, day: int) -> date:
    """The Gregorian date of a Jalali one; ValueError naming the bad month or day."""
    if not _MIN_YEAR <= year + 621 <= _MAX_YEAR:
        raise ValueError(f"year {year} is out of range")
    length = jalali_month_length(year, month)
    if not 1 <= day <= length:
        leap = "" if month < 12 else (" (a leap year)" if length == 30 else " (not a leap year)")
        raise ValueError(
            f"day {day} is out of range for {MONTHS_EN[month - 1]} {year}{leap}: 1-{length}"
        )
    gregorian: date = jdatetime.date(year, month, day).togregorian()
    return gregorian


_CLOCK = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
_TIME_ONLY = re.compile(rf"{_CLOCK}")
_SLASHED = re.compile(
    rf"(?P<year>\d{{4}})[/-](?P<month>\d{{1,2}})[/-](?P<day>\d{{1,2}})"
    rf"(?:(?:\s+(?:ساعت\s+)?|T){_CLOCK})?"
)


def _clock(match: re.Match[str]) -> time:
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{match['hour']}:{match['minute']} is not a valid time of day")
    return time(hour, minute, second)


def _next_occurrence(at: time, now: datetime) -> datetime:
    local_now = now.astimezone(TEHRAN)
    candidate = datetime.combine(local_now.date(), at, tzinfo=TEHRAN)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=1), at, tzinfo=TEHRAN)
    return candidate


def _parse_slashed(match: re.Match[str]) -> datetime:
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    at = _clock(match) if match["hour"] else time(0, 0)
    if year < _JALALI_YEAR_LIMIT:
        day_date = jalali_to_gregorian(year, month, day)
    else:
        try:
            day_date = date(year, month, day)
        except ValueError:
            raise ValueError(f"{year}-{month:02d}-{day:02d} is not a valid date") from None
    return datetime.combine(day_date, at, tzinfo=TEHRAN)


def parse_send_at(value: str, now: datetime | None = None) -> datetime:
    """A requested send time as an aware UTC datetime.

    Accepts ISO 8601 (an offset is honoured; without one the time is Tehran time), Jalali
    `1404/08/30 14:00`, `1404/8/30` (midnight) or `۱۴۰۴/۰۸/۳۰ ساعت ۱۴:۰۰` in any digit script, and a
    bare `14:00` meaning its next occurrence in Tehran after `now` (default: the current time; a
    naive `now` is taken as UTC). Anything else raises ValueError.
    """
    text = " ".join(to_ascii_digits(value).split())
    if not text:
        raise ValueError("empty send time")
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)

    if match := _TIME_ONLY.fullmatch(text):
        result = _next_occurrence(_clock(match), now)
    elif match := _SLASHED.fullmatch(text):
        result = _parse_slashed(match)
    else:
        try:
            result = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{value!r} is neither ISO 8601 nor a Jalali date like 1404/08/30 14:00"
            ) from None
        if result.tzinfo is None:
            result = result.replace(tzinfo=TEHRAN)
    if not _MIN_YEAR <= result.year <= _MAX_YEAR:
        raise ValueError(f"{value!r} is out of range ({_MIN_YEAR}-{_MAX_YEAR})")
    return result.astimezone(UTC)
