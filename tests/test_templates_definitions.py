"""Broken template files fail at load time with a clear message; over-budget ones fail `check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from templates_sms import TemplateDefinitionError, TemplateError, load_templates

VALID = """
id = "greeting"
kind = "bulk"
budget_parts = 1

[placeholders.name]
type = "name"
max_len = 10

[text]
fa = "سلام {name}"
en = "Hello {name}"
"""


def write(directory: Path, body: str, stem: str = "greeting") -> Path:
    path = directory / f"{stem}.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_a_valid_file_loads(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    registry = load_templates(tmp_path)
    assert registry.ids() == ["greeting"]
    assert registry.render("greeting", "en", {"name": "Sara"}) == "Hello Sara"
    assert registry.get("greeting").priority == 2


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('type = "name"', 'type = "colour"', "unknown type 'colour'"),
        ('fa = "سلام {name}"', 'fa = "سلام {nam}"', "undeclared placeholder(s) ['nam']"),
        ('en = "Hello {name}"', 'en = "Hello"', "text.en does not use placeholder(s) ['name']"),
        ('en = "Hello {name}"', "", "missing language en"),
        ('en = "Hello {name}"', 'en = "Hi {name}"\nde = "Hallo {name}"', "unknown language"),
        ('en = "Hello {name}"', 'en = "Hello {name} }"', "unmatched brace"),
        ('kind = "bulk"', 'kind = "urgent"', "kind must be one of"),
        ("budget_parts = 1", "budget_parts = 0", "budget_parts must be a positive integer"),
        ("max_len = 10", "", "max_len must be a positive integer"),
        ("max_len = 10", "max_len = 10\nmaxlen = 3", "unknown keys for type name"),
        ('id = "greeting"', 'id = "hello"', "differs from the file name"),
        ("budget_parts = 1", "budget_parts = 1\nbudget = 2", "unknown keys ['budget']"),
        ("[text]", "[text\n", "not valid TOML"),
    ],
)
def test_broken_files_are_refused_with_a_clear_message(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in VALID
    write(tmp_path, VALID.replace(old, new))
    with pytest.raises(TemplateDefinitionError) as caught:
        load_templates(tmp_path)
    assert message in str(caught.value)
    assert "greeting.toml" in str(caught.value)


def test_a_gender_must_refer_to_a_name_placeholder(tmp_path: Path) -> None:
    body = VALID.replace(
        "[text]", '[placeholders.gender]\ntype = "gender"\nname = "nobody"\n\n[text]'
    )
    write(tmp_path, body.replace("سلام {name}", "{gender} {name}"))
    with pytest.raises(TemplateDefinitionError, match="refers to 'nobody'"):
        load_templates(tmp_path)


def test_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateDefinitionError, match=r"no \*\.toml"):
        load_templates(tmp_path)


def test_an_over_budget_template_is_reported_with_its_worst_case(tmp_path: Path) -> None:
    # Short sample names fit one part; a 60-letter Persian name with the longest label does not.
    body = """
id = "too_long"
kind = "transactional"
budget_parts = 1

[placeholders.name]
type = "name"
max_len = 60

[placeholders.level]
type = "enum"
choices.low = { fa = "کم", en = "low" }
choices.high = { fa = "بسیار بسیار زیاد", en = "very very high" }

[text]
fa = "{name}: {level}"
en = "{name}: {level}"
"""
    write(tmp_path, VALID)
    write(tmp_path, body, stem="too_long")
    registry = load_templates(tmp_path)
    assert registry.render("too_long", "fa", {"name": "سارا", "level": "low"}) == "سارا: کم"

    breaches = registry.check()
    assert [(b.template_id, b.lang) for b in breaches] == [("too_long", "fa"), ("too_long", "en")]
    fa = breaches[0]
    assert (fa.parts, fa.budget_parts, fa.encoding) == (2, 1, "ucs2")
    assert fa.text == "ش" * 60 + ": بسیار بسیار زیاد"
    assert "too_long [fa]: worst case is 2 SMS parts" in str(fa)


EVERY_TYPE = """
id = "every_type"
kind = "bulk"
budget_parts = 3

[placeholders.amount]
type = "amount"
max = 1000000000

[placeholders.pin]
type = "digits"
length = 4

[placeholders.at]
type = "datetime"

[placeholders.note]
type = "text"
max_len = 20
optional = true
prefix = { fa = " یادداشت: ", en = " Note: " }

[text]
fa = "مبلغ {amount} ریال، کد {pin}، {at}{note}"
en = "Amount {amount} rials, PIN {pin}, {at}{note}"
"""


def test_amount_digits_and_datetime_types(tmp_path: Path) -> None:
    write(tmp_path, EVERY_TYPE, stem="every_type")
    registry = load_templates(tmp_path)
    params = {"amount": 1250000, "pin": "0042", "at": "1404/08/30 14:05"}
    assert registry.render("every_type", "fa", params) == (
        "مبلغ ۱٬۲۵۰٬۰۰۰ ریال، کد ۰۰۴۲، ۳۰ آبان ۱۴۰۴ ساعت ۱۴:۰۵"
    )
    assert registry.render("every_type", "en", {**params, "note": "ok"}) == (
        "Amount 1,250,000 rials, PIN 0042, 30 Aban 1404, 14:05 Note: ok"
    )
    for bad in (
        {**params, "amount": 10**9 + 1},
        {**params, "amount": "5"},
        {**params, "pin": "42"},
    ):
        with pytest.raises(TemplateError, match="invalid_parameter"):
            registry.render("every_type", "fa", bad)
    assert registry.check() == []
