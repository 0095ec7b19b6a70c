"""`send_at` as people type it: ISO 8601 or Jalali, in any digit script, in Tehran time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from templates_sms.jalali import TEHRAN, jalali_to_gregorian, parse_send_at

NOW = datetime(2025, 11, 21, 12, 0, tzinfo=UTC)  # 15:30 in Tehran, 30 Aban 1404
AT_14_TEHRAN = datetime(2025, 11, 21, 10, 30, tzinfo=UTC)


def test_tehran_zone_has_no_dst_any_more() -> None:
    assert ZoneInfo("Asia/Tehran")  # tzdata is present on this machine
    summer = datetime(2025, 7, 1, 12, 0, tzinfo=TEHRAN)
    assert summer.utcoffset() == datetime(2025, 1, 1, 12, 0, tzinfo=TEHRAN).utcoffset()
    assert str(summer.utcoffset()) == "3:30:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-11-21T14:00", AT_14_TEHRAN),  # naive ISO is Tehran time
        ("2025-11-21 14:00:00", AT_14_TEHRAN),
        ("2025-11-21T10:30Z", AT_14_TEHRAN),
        ("2025-11-21T10:30:00+00:00", AT_14_TEHRAN),
        ("2025-11-21T14:00+03:30", AT_14_TEHRAN),
        ("2025-11-21", datetime(2025, 11, 20, 20, 30, tzinfo=UTC)),
        ("1404/08/30 14:00", AT_14_TEHRAN),
        ("1404/8/30 14:00", AT_14_TEHRAN),
        ("1404-08-30T14:00:00", AT_14_TEHRAN),
        ("  1404/08/30   14:00 ", AT_14_TEHRAN),
        ("۱۴۰۴/۰۸/۳۰ ۱۴:۰۰", AT_14_TEHRAN),  # Persian digits
        ("١٤٠٤/٠٨/٣٠ ١٤:٠٠", AT_14_TEHRAN),  # Arabic-Indic digits
        ("۱۴۰۴/۰۸/۳۰ ساعت ۱۴:۰۰", AT_14_TEHRAN),
        ("1404/8/30", datetime(2025, 11, 20, 20, 30, tzinfo=UTC)),  # midnight in Tehran
        ("1403/12/30", datetime(2025, 3, 19, 20, 30, tzinfo=UTC)),  # 1403 is a leap year
        ("18:00", datetime(2025, 11, 21, 14, 30, tzinfo=UTC)),  # later today
        ("14:00", datetime(2025, 11, 22, 10, 30, tzinfo=UTC)),  # already past: tomorrow
    ],
)
def test_parse_send_at(value: str, expected: datetime) -> None:
    parsed = parse_send_at(value, now=NOW)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("tomorrow", "neither ISO 8601 nor a Jalali date"),
        ("1404/13/01", "month 13"),
        ("1404/00/10", "month 0"),
        ("1404/01/32", "day 32 is out of range for Farvardin"),
        ("1404/07/31", "day 31 is out of range for Mehr"),
        ("1404/12/30", "not a leap year"),
        ("1404/08/30 24:00", "not a valid time"),
        ("1404/08/30 12:60", "not a valid time"),
        ("2025-02-30T10:00", "2025-02-30 is not a valid date"),
        ("2025/02/30", "2025-02-30 is not a valid date"),
        ("1000/01/01", "year 1000 is out of range"),
        ("0001-01-01T00:00+14:00", "out of range"),
        ("9999-12-31T23:59-12:00", "out of range"),
    ],
)
def test_invalid_send_at_raises_a_clear_value_error(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_send_at(value, now=NOW)


def test_jalali_round_trip_of_a_known_day() -> None:
    assert jalali_to_gregorian(1404, 1, 1).isoformat() == "2025-03-21"


@given(st.text(max_size=40))
def test_parse_send_at_only_ever_raises_value_error(value: str) -> None:
    try:
        parsed = parse_send_at(value, now=NOW)
    except ValueError:
        return
    assert parsed.tzinfo is UTC


@given(
    st.integers(min_value=1300, max_value=1578),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=29),
    st.sampled_from(["0123456789", "۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩"]),
)
def test_every_digit_script_parses_to_the_same_moment(
    year: int, month: int, day: int, digits: str
) -> None:
    ascii_text = f"{year}/{month:02d}/{day:02d} 09:15"
    typed = ascii_text.translate(str.maketrans("0123456789", digits))
    assert parse_send_at(typed, now=NOW) == parse_send_at(ascii_text, now=NOW)
