"""How many SMS parts a text costs: what the operator bills and the handset shows."""

from __future__ import annotations

import pytest

from templates_sms.gsm import air_length, encoding_of, sms_segments


@pytest.mark.parametrize(
    ("text", "encoding", "length", "parts"),
    [
        ("", "gsm7", 0, 0),
        ("ش" * 70, "ucs2", 70, 1),
        ("ش" * 71, "ucs2", 71, 2),
        ("ش" * 134, "ucs2", 134, 2),
        ("ش" * 135, "ucs2", 135, 3),
        ("a" * 69 + "ش", "ucs2", 70, 1),  # one Persian letter makes the whole text UCS-2
        ("۱" * 70, "ucs2", 70, 1),  # so does one Persian digit
        ("a" * 160, "gsm7", 160, 1),
        ("a" * 161, "gsm7", 161, 2),
        ("a" * 306, "gsm7", 306, 2),
        ("a" * 307, "gsm7", 307, 3),
        ("€" * 80, "gsm7", 160, 1),  # extension characters count double
        ("€" * 81, "gsm7", 162, 2),
        ("a" * 158 + "[", "gsm7", 160, 1),
        ("a" * 159 + "[", "gsm7", 161, 2),
        # 306 septets, but the escape sequence may not straddle parts: three parts.
        ("a" * 152 + "€" + "a" * 152, "gsm7", 306, 3),
        ("😀" * 35, "ucs2", 70, 1),  # outside the BMP: a surrogate pair, two units
        ("😀" * 36, "ucs2", 72, 2),
    ],
)
def test_sms_segments(text: str, encoding: str, length: int, parts: int) -> None:
    segments = sms_segments(text)
    assert (segments.encoding, segments.length, segments.parts) == (encoding, length, parts)


def test_air_length_agrees_with_segments() -> None:
    text = "کد 1234 {ok}"
    assert encoding_of(text) == "ucs2"
    assert air_length(text) == len(text) == sms_segments(text).length
    assert air_length("{ok}") == 6
