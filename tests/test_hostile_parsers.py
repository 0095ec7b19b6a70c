"""Hostile input to every parser a citizen or a caller reaches: each either answers a well-formed
value or raises its own documented error, for any text at all."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

import jdatetime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.fields import MAX_FIELDS, urlencoded_pairs
from sessions import keywords
from sessions.keywords import KEYWORDS, Command
from sessions.normalize import normalize
from sessions.validators import (
    InvalidInput,
    insurance_number,
    is_valid_national_id,
    mobile,
    national_id,
    tracking_code,
)
from templates_sms import TEHRAN, TemplateError, load_templates, parse_send_at
from templates_sms.digits import to_persian_digits

REGISTRY = load_templates()
MANY = settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)

# Any text: every plane, surrogates excluded (a Python str from the wire cannot hold them),
# weighted towards what matters here: digits of three scripts, separators and Persian letters.
DIGITS = "0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩"
INTERESTING = st.sampled_from(
    [*DIGITS, "+", "-", " ", "\t", "\n", "\u200c", "\u200f", "\x00", "*", "#", "/", ":", "T",
     "ی", "ي", "ک", "ك", "ساعت", "وضعیت", "status", "۱۴۰۴", "2025", "\ufeff", "\u0301"]
)  # fmt: skip
ANY_TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(INTERESTING, st.characters()), max_size=40).map("".join),
    st.lists(INTERESTING, max_size=30).map("".join),
)


@MANY
@given(ANY_TEXT)
def test_keyword_parse_is_total(text: str) -> None:
    parsed = keywords.parse(text)
    assert parsed.command in set(Command)
    assert parsed.lang in ("fa", "en")
    if not parsed.understood:
        assert (parsed.command, parsed.argument) == (Command.HELP, "")


@MANY
@given(st.sampled_from(sorted(KEYWORDS)), st.text(DIGITS, min_size=1, max_size=12), st.booleans())
def test_every_keyword_is_understood_with_any_digits(word: str, digits: str, space: bool) -> None:
    parsed = keywords.parse(f"{word.upper()}{' ' if space else ''}{digits}")
    assert parsed.understood
    assert parsed.command is KEYWORDS[word][0]
    assert parsed.argument == normalize(digits)


def _only_invalid_input(check: Any, raw: str) -> str | None:
    try:
        value: str = check(raw)
    except InvalidInput as exc:
        code = exc.code
    else:
        return value
    assert code.startswith("invalid_")
    return None


@MANY
@given(ANY_TEXT)
def test_national_id_answers_a_valid_id_or_invalid_input(raw: str) -> None:
    value = _only_invalid_input(national_id, raw)
    if value is not None:
        assert value.isascii()
        assert len(value) == 10
        assert is_valid_national_id(value)


@MANY
@given(st.text("0123456789", min_size=9, max_size=9))
def test_every_nine_digits_have_exactly_one_check_digit(body: str) -> None:
    valid = [d for d in "0123456789" if is_valid_national_id(body + d)]
    assert len(valid) == 1 or (len(valid) == 0 and len(set(body)) == 1)  # 1111111111 is no ID
    for d in valid:  # written in Persian digits it is the same ID
        assert national_id(to_persian_digits(body + d)) == body + d


@MANY
@given(ANY_TEXT)
def test_mobile_answers_the_canonical_form_or_invalid_input(raw: str) -> None:
    value = _only_invalid_input(mobile, raw)
    if value is not None:
        assert value.isascii()
        assert value.isdecimal()
        assert len(value) == 11
        assert value.startswith("09")
        assert mobile(value) == value


@MANY
@given(
    st.text("0123456789", min_size=9, max_size=9),
    st.sampled_from(["0", "", "98", "+98", "0098"]),
    st.booleans(),
)
def test_every_written_form_of_a_mobile_is_the_same_number(
    rest: str, prefix: str, persian: bool
) -> None:
    raw = f"{prefix}9{rest}"
    assert mobile(to_persian_digits(raw) if persian else raw) == f"09{rest}"


@MANY
@given(ANY_TEXT)
def test_tracking_codes_and_insurance_numbers(raw: str) -> None:
    code = _only_invalid_input(tracking_code, raw)
    assert code is None or (code.isascii() and code.isdecimal() and len(code) == 8)
    number = _only_invalid_input(insurance_number, raw)
    assert number is None or (number.isascii() and number.isdecimal() and len(number) == 10)


NOW = datetime(2025, 11, 21, 10, 0, tzinfo=UTC)


@MANY
@given(
    st.one_of(
        ANY_TEXT,
        st.from_regex(
            r"\A[0-9۰-۹]{1,5}[/-][0-9]{1,3}[/-][0-9]{1,3}( (ساعت )?[0-9]{1,3}:[0-9]{2})?\Z"
        ),
        st.from_regex(r"\A[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?\Z"),
        st.datetimes().map(lambda d: d.isoformat()),
    )
)
def test_send_at_answers_an_aware_time_in_range_or_value_error(raw: str) -> None:
    try:
        when = parse_send_at(raw, NOW)
    except ValueError as exc:
        reason = str(exc)
    else:
        assert when.tzinfo is UTC
        assert 1900 <= when.year <= 2200
        return
    assert reason  # a clear message, never an empty one


@MANY
@given(st.integers(1300, 1500), st.integers(1, 12), st.integers(1, 31), st.booleans())
def test_every_real_jalali_date_parses_to_its_gregorian_day(
    year: int, month: int, day: int, persian: bool
) -> None:
    text = f"{year}/{month:02d}/{day:02d} 00:00"
    try:
        expected: date = jdatetime.date(year, month, day).togregorian()
    except ValueError:
        expected_error = True
    else:
        expected_error = False
    raw = to_persian_digits(text) if persian else text
    try:
        when = parse_send_at(raw, NOW)
    except ValueError:
        assert expected_error, raw
        return
    assert not expected_error, raw
    local = jdatetime.datetime.fromgregorian(datetime=when.astimezone(TEHRAN))
    assert (local.year, local.month, local.day) == (year, month, day)
    assert when.astimezone(TEHRAN).date() == expected


PARAM_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    ANY_TEXT,
    st.text(max_size=2000),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.binary(max_size=10),
)


@st.composite
def render_calls(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    template_id = draw(st.one_of(st.sampled_from(REGISTRY.ids()), ANY_TEXT))
    names = list(REGISTRY.get(template_id).placeholders) if template_id in REGISTRY else []
    keys = st.one_of(st.sampled_from(names), ANY_TEXT) if names else ANY_TEXT
    params = draw(st.dictionaries(keys, PARAM_VALUES, max_size=len(names) + 2))
    lang = draw(st.one_of(st.sampled_from(["fa", "en"]), ANY_TEXT))
    return template_id, lang, params


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(render_calls())
def test_rendering_any_parameters_raises_only_template_error(
    call: tuple[str, str, dict[str, Any]],
) -> None:
    template_id, lang, params = call
    try:
        text = REGISTRY.render(template_id, lang, params)
    except TemplateError as exc:
        code, field = exc.code, exc.field
    else:
        assert text.strip()
        return
    assert code in (
        "unknown_template",
        "missing_parameter",
        "unknown_parameter",
        "invalid_parameter",
    )
    assert isinstance(field, str)  # the parameter at fault, as the caller named it


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab=&+%2AEC3é ;۱\x00", max_size=40), st.sampled_from(["utf-8", "latin-1"]))
def test_form_reader_reads_as_the_standard_library_does(body: str, charset: str) -> None:
    """The hop's own urlencoded reader gives parse_qsl's pairs, escapes and `+` included."""
    expected = parse_qsl(body, keep_blank_values=True, encoding=charset, max_num_fields=MAX_FIELDS)
    assert urlencoded_pairs(body, charset) == expected


def test_long_escaped_fields_are_read_but_not_kept() -> None:
    """Short escaped values ("*123#") are remembered; a long one is decoded each time, so what a
    caller sends cannot fill the memory of the process; nor can many short ones."""
    from channels import fields

    fields._unquoted.clear()
    long_text = "%DB%B1" * 2000
    assert urlencoded_pairs(f"serviceCode=%2A123%23&text={long_text}") == [
        ("serviceCode", "*123#"),
        ("text", "۱" * 2000),
    ]
    assert fields._unquoted == {"%2A123%23": "*123#"}
    for n in range(fields._CACHE_SIZE * 2):
        assert urlencoded_pairs(f"text=%2A{n}") == [("text", f"*{n}")]
    assert 0 < len(fields._unquoted) <= fields._CACHE_SIZE
