"""Input normalisation and the identifier rules of DOMAIN.md."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessions.normalize import digits_only, normalize, to_persian_digits
from sessions.validators import (
    InvalidInput,
    is_valid_national_id,
    mobile,
    national_id,
    tracking_code,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("۰۹۱۲۳۴۵۶۷۸۹", "09123456789"),
        ("٠٩١٢٣٤٥٦٧٨٩", "09123456789"),
        ("علي", "علی"),
        ("كد", "کد"),
        ("ثبت\u200cنام", "ثبت نام"),
        ("تـــأمین", "تأمین"),
        ("  ۱   ۲  ", "1 2"),
        ("\u200f۱۲\u200e", "12"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_digits_only_drops_separators() -> None:
    assert digits_only("۰۹۱۲-۱۲۳ ۴۵۶۷") == "09121234567"


@pytest.mark.parametrize(
    "value", ["0013542419", "0067749828", "4608968882", "1234567891", "0010350829"]
)
def test_valid_national_ids(value: str) -> None:
    assert is_valid_national_id(value)
    assert national_id(to_persian_digits(value)) == value


@pytest.mark.parametrize(
    "value",
    ["0013542418", "0000000000", "2222222222", "123456789", "12345678901", "abcdefghij", ""],
)
def test_invalid_national_ids(value: str) -> None:
    assert not is_valid_national_id(value)
    with pytest.raises(InvalidInput) as err:
        national_id(value)
    assert err.value.code == "invalid_national_id"


@pytest.mark.parametrize(
    "raw",
    [
        "09121234567",
        "9121234567",
        "989121234567",
        "+989121234567",
        "00989121234567",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "+98 912 123 4567",
    ],
)
def test_mobile_forms_have_one_canonical_form(raw: str) -> None:
    assert mobile(raw) == "09121234567"


@pytest.mark.parametrize(
    "raw", ["0812123456", "08121234567", "+442071234567", "0912123456", "091212345678", "", "۰۹۱۲"]
)
def test_invalid_mobiles(raw: str) -> None:
    with pytest.raises(InvalidInput):
        mobile(raw)


def test_tracking_code_is_eight_digits() -> None:
    assert tracking_code("۱۲۳۴ ۵۶۷۸") == "12345678"
    with pytest.raises(InvalidInput):
        tracking_code("1234567")


@given(st.text())
def test_normalize_is_idempotent_and_never_leaves_non_ascii_digits(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    assert not any("\u06f0" <= ch <= "\u06f9" or "\u0660" <= ch <= "\u0669" for ch in once)


@given(st.text())
def test_validators_only_raise_invalid_input(text: str) -> None:
    for check in (national_id, mobile, tracking_code):
        with contextlib.suppress(InvalidInput):
            check(text)


@given(st.from_regex(r"9[0-9]{9}", fullmatch=True), st.sampled_from(["0", "98", "+98", "0098", ""]))
def test_every_prefix_form_maps_to_the_same_number(rest: str, prefix: str) -> None:
    assert mobile(prefix + rest) == "0" + rest


def _mobile_by_normalising(raw: str) -> str | None:
    """The rule without the fast path: normalise, then match one of the accepted forms."""
    value = digits_only(raw)
    for prefix in ("+98", "0098", "98", "0", ""):
        rest = value[len(prefix) :]
        digits = len(rest) == 10 and rest.isascii() and rest.isdigit()
        if value.startswith(prefix) and digits and rest[0] == "9":
            return "0" + rest
    return None


_CALLER_CHARS = st.sampled_from(list("0123456789+ -()۰۹٩\u200c\u06f9"))


@given(st.text(_CALLER_CHARS, max_size=16) | st.from_regex(r"(\+98|0098|98|0)?9[0-9]{9}"))
def test_mobile_fast_path_answers_as_normalising_does(raw: str) -> None:
    expected = _mobile_by_normalising(raw)
    if expected is None:
        with pytest.raises(InvalidInput):
            mobile(raw)
    else:
        assert mobile(raw) == expected
