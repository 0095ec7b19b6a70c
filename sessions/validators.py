"""Validators for the identifiers citizens type: national ID, mobile number, tracking codes."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import phonenumbers

from sessions.normalize import digits_only

_TEN_DIGITS = re.compile(r"[0-9]{10}")
# Every accepted form of a mobile number, once its digits are ASCII and its separators gone.
_MOBILE = re.compile(r"(?:\+98|0098|98|0)?(9[0-9]{9})")
_TRACKING = re.compile(r"[0-9]{8}")


class InvalidInput(ValueError):
    """An identifier that does not pass its rule; `code` is stable for APIs and screens."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def is_valid_national_id(value: str) -> bool:
    """The national ID checksum (DOMAIN.md): weights 10..2, mod 11; ten equal digits are invalid."""
    if not _TEN_DIGITS.fullmatch(value) or len(set(value)) == 1:
        return False
    s = sum(int(value[i]) * (10 - i) for i in range(9))
    r = s % 11
    check = int(value[9])
    return check == r if r < 2 else check == 11 - r


def national_id(raw: str) -> str:
    value = digits_only(raw)
    if not is_valid_national_id(value):
        raise InvalidInput(
            "invalid_national_id", "national ID must be 10 digits with a valid check"
        )
    return value


def mobile(raw: str) -> str:
    """The canonical form `09XXXXXXXXX` from 09…, 9…, 989…, +989…, 00989… in any digit script.
    An operator's caller field usually matches as it comes (`+98912…`): normalising it, which
    would change nothing, is left for the rest."""
    m = _MOBILE.fullmatch(raw) or _MOBILE.fullmatch(digits_only(raw))
    if m is None:
        raise InvalidInput("invalid_mobile", "mobile must be 11 digits starting with 09")
    return "0" + m.group(1)


_MOBILE_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)


@functools.lru_cache(maxsize=4096)
def _allocated(number: str) -> bool:
    parsed = phonenumbers.parse("+98" + number[1:])
    return phonenumbers.number_type(parsed) in _MOBILE_TYPES


def allocated_mobile(number: str, extra_prefixes: Iterable[str] = ()) -> str:
    """A canonical `09…` number whose prefix is allocated to a mobile network, by Google's
    `phonenumbers` metadata or a prefix the operator added since. For numbers other systems send
    (a typo there is a paid SMS that cannot arrive); the USSD path, whose caller the operator
    vouches for, keeps its fast canonical form alone."""
    if _allocated(number) or any(number.startswith(p) for p in extra_prefixes):
        return number
    raise InvalidInput(
        "unallocated_mobile", f"{number[:4]} is not an allocated Iranian mobile prefix"
    )


def tracking_code(raw: str) -> str:
    value = digits_only(raw)
    if not _TRACKING.fullmatch(value):
        raise InvalidInput("invalid_tracking_code", "tracking code must be 8 digits")
    return value


# The portal's loan tracking codes (seed 000): digits in any script, of a length the operator sets
# (GATEWAY_LOAN_CODE_DIGITS); these are the bounds when none is set.
LOAN_CODE_DIGITS = (6, 20)


def digit_span(lengths: tuple[int, int]) -> str:
    low, high = lengths
    return str(low) if low == high else f"{low} to {high}"


def loan_code(raw: str, lengths: tuple[int, int] = LOAN_CODE_DIGITS) -> str:
    value = digits_only(raw)
    low, high = lengths
    if not (value.isascii() and value.isdigit() and low <= len(value) <= high):
        raise InvalidInput(
            "invalid_tracking_code", f"tracking code must be {digit_span(lengths)} digits"
        )
    return value


FOREIGN_ID_DIGITS = 12  # a foreign national's identifier (seed 003), by default


def foreign_id(raw: str, digits: int = FOREIGN_ID_DIGITS) -> str:
    value = digits_only(raw)
    if not (value.isascii() and value.isdigit() and len(value) == digits):
        raise InvalidInput("invalid_foreign_id", f"foreign national ID must be {digits} digits")
    return value


def insurance_number(raw: str) -> str:
    value = digits_only(raw)
    if not _TEN_DIGITS.fullmatch(value):
        raise InvalidInput("invalid_insurance_number", "insurance number must be 10 digits")
    return value
