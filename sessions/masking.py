"""Masking of personal data and secrets before anything reaches a log line."""

from __future__ import annotations

import re

# Mobile numbers in every accepted shape, national IDs / tracking codes (8–10 digits), and long
# digit runs in any script; keys that look like API keys; `password=` style pairs.
_DIGIT = r"[0-9\u06f0-\u06f9\u0660-\u0669]"
_MOBILE = re.compile(rf"(?:\+|00)?(?:98|0)?9{_DIGIT}{{9}}(?!{_DIGIT})")
_LONG_DIGITS = re.compile(rf"(?<!{_DIGIT}){_DIGIT}{{6,}}(?!{_DIGIT})")
# The same numbers as people write them, in groups: `0912 123 4567`, `+98-912-123-4567`,
# `0912.123.45.67`; a national ID as printed on the card (`001-354241-9`) or in threes
# (`001 354 2419`). A national ID's groups share one separator, so a time stamp
# (`2026-12-05 16`) is not taken for one.
_SEP = r"(?:[-. ]|%20)"
_ZERO, _EIGHT, _NINE = "[0\u06f0\u0660]", "[8\u06f8\u0668]", "[9\u06f9\u0669]"
_GROUPED_MOBILE = re.compile(
    rf"(?<!{_DIGIT})(?:(?:\+|{_ZERO}{{2}}){_NINE}{_EIGHT}{_SEP}?|{_ZERO})?{_NINE}{_DIGIT}{{2}}"
    rf"(?:{_SEP}?{_DIGIT}){{7}}(?!{_DIGIT})"
)
_GROUPED_ID = re.compile(
    rf"(?<!{_DIGIT}){_DIGIT}{{3}}({_SEP})(?:{_DIGIT}{{3}}\1{_DIGIT}{{4}}|{_DIGIT}{{6}}\1{_DIGIT})"
    rf"(?!{_DIGIT})"
)
_API_KEY = re.compile(r"\bdgk_[A-Za-z0-9_\-]+")
_SECRET_PAIR = re.compile(
    r"(?i)\b(password|passwd|pwd|token|api[_-]?key|secret|code|authorization)(\s*[=:]\s*)([^\s&,;]+)"
)
# Kavenegar puts the key in the URL path: /v1/{API_KEY}/sms/send.json
# (a key is a long token; our own `/v1/registrations/…` paths must stay readable in access logs)
_KEY_IN_PATH = re.compile(r"(/v1/)[A-Za-z0-9+=_\-]{24,}(/)")
# A callback secret as the last path segment: /ussd/{dialect}/{token}, /sms/{p}/status/{token}
_TOKEN_IN_PATH = re.compile(r"(/ussd/[^/\s?#]+/|/sms/[^/\s?#]+/(?:inbound|status)/)[^/\s?#]+")


def mask_msisdn(msisdn: str) -> str:
    """0912***4567: keeps the operator prefix and the last digits, enough to tell numbers apart."""
    if len(msisdn) < 7:
        return "***"
    return f"{msisdn[:4]}***{msisdn[-4:]}"


def mask_text(text: str) -> str:
    """Masks everything that looks sensitive in free text (log messages, exception texts)."""
    text = _KEY_IN_PATH.sub(r"\1***\2", text)
    text = _TOKEN_IN_PATH.sub(r"\1***", text)
    text = _API_KEY.sub("dgk_***", text)
    text = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _MOBILE.sub(lambda m: mask_msisdn(m.group(0)), text)
    text = _GROUPED_MOBILE.sub(lambda m: mask_msisdn(m.group(0)), text)
    text = _GROUPED_ID.sub(lambda m: m.group(0)[:2] + "***", text)
    return _LONG_DIGITS.sub(lambda m: m.group(0)[:2] + "***", text)


# Any word holding a digit may be a code, a password or a tracking number.
_WORD_WITH_DIGIT = re.compile(rf"\S*{_DIGIT}\S*")


def hide_codes(text: str) -> str:
    """Free text fit to keep or show: masked, and every word with a digit in it hidden."""
    return _WORD_WITH_DIGIT.sub("***", mask_text(text))
