"""Validators for the identifiers citizens type: national ID, mobile number, tracking codes."""

from __future__ import annotations

import re

from sessions.normalize import digits_only

_TEN_DIGITS = re.compile(r"[0-9]{10}")
_MOBILE_FORMS = (
    re.compile(r"(?:\+98|0098|98)(9[0-9]{9})"),
    re.compile(r"0(9[0-9]{9})"),
    re.compile(r"(9[0-9]{9})"),
)
# An operator's caller field as it usually comes (`+98912…`, `0912…`): ASCII digits with no
# separator, so normalising it would change nothing; one match instead of normalising first.
_PLAIN_MOBILE = re.compile(r"(?:\+98|0098|98|0)?(9[0-9]{9})")
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
    """The canonical form `09XXXXXXXXX` from 09…, 9…, 989…, +989…, 00989… in any digit script."""
    plain = _PLAIN_MOBILE.fullmatch(raw)
    if plain:
        return "0" + plain.group(1)
    value = digits_only(raw)
    for form in _MOBILE_FORMS:
        m = form.fullmatch(value)
        if m:
            return "0" + m.group(1)
    raise InvalidInput("invalid_mobile", "mobile must be 11 digits starting with 09")


def tracking_code(raw: str) -> str:
    value = digits_only(raw)
    if not _TRACKING.fullmatch(value):
        raise InvalidInput("invalid_tracking_code", "tracking code must be 8 digits")
    return value


def insurance_number(raw: str) -> str:
    value = digits_only(raw)
    if not _TEN_DIGITS.fullmatch(value):
        raise InvalidInput("invalid_insurance_number", "insurance number must be 10 digits")
    return value
