"""Digits, amounts and Jalali dates as the USSD screens and SMS texts show them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from templates_sms import format_amount, jalali_date, jalali_datetime, to_persian_digits
from templates_sms.digits import to_ascii_digits


def test_digit_scripts() -> None:
    assert to_persian_digits("کد 0123456789") == "کد ۰۱۲۳۴۵۶۷۸۹"
    assert to_persian_digits("٠١٢٣") == "۰۱۲۳"
    assert to_ascii_digits("۰۹۱۲ ٣٤٥ 67") == "0912 345 67"


@pytest.mark.parametrize(
    ("amount", "fa", "en"),
    [
        (0, "۰", "0"),
        (999, "۹۹۹", "999"),
        (1000, "۱٬۰۰۰", "1,000"),
        (1250000, "۱٬۲۵۰٬۰۰۰", "1,250,000"),
    ],
)
def test_format_amount(amount: int, fa: str, en: str) -> None:
    assert format_amount(amount, "fa") == fa
    assert format_amount(amount, "en") == en


@pytest.mark.parametrize(
    ("value", "fa", "en"),
    [
        (date(2025, 11, 21), "۳۰ آبان ۱۴۰۴", "30 Aban 1404"),
        (date(2025, 3, 21), "۱ فروردین ۱۴۰۴", "1 Farvardin 1404"),
        (date(2025, 5, 15), "۲۵ اردیبهشت ۱۴۰۴", "25 Ordibehesht 1404"),
        (date(2025, 3, 20), "۳۰ اسفند ۱۴۰۳", "30 Esfand 1403"),  # 1403 is a leap year
        # 21:00 UTC on 20 Nov is already 30 Aban (00:30) in Tehran.
        (datetime(2025, 11, 20, 21, 0, tzinfo=UTC), "۳۰ آبان ۱۴۰۴", "30 Aban 1404"),
    ],
)
def test_jalali_date(value: date, fa: str, en: str) -> None:
    assert jalali_date(value, "fa") == fa
    assert jalali_date(value, "en") == en


def test_jalali_datetime_is_in_tehran_time() -> None:
    moment = datetime(2025, 11, 21, 14, 5, tzinfo=timezone(timedelta(hours=3, minutes=30)))
    assert jalali_datetime(moment, "fa") == "۳۰ آبان ۱۴۰۴ ساعت ۱۴:۰۵"
    assert jalali_datetime(moment.astimezone(UTC), "en") == "30 Aban 1404, 14:05"


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        jalali_date(datetime(2025, 11, 21), "fa")  # naive on purpose
