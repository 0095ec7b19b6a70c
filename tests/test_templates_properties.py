"""Properties over every valid parameter set: budgets hold and nothing is ever cut."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from templates_sms import TemplateError, TemplateRegistry, load_templates
from templates_sms.gsm import sms_segments
from templates_sms.placeholders import (
    AmountPlaceholder,
    CodePlaceholder,
    DatePlaceholder,
    DateTimePlaceholder,
    DigitsPlaceholder,
    EnumPlaceholder,
    GenderPlaceholder,
    NamePlaceholder,
    Placeholder,
    TextPlaceholder,
)

REGISTRY: TemplateRegistry = load_templates()

# Any BMP character a person could type: letters of every script, digits, punctuation, symbols
# (GSM-7 extension characters included), spaces and ZWNJ.
TYPED = st.characters(
    max_codepoint=0xFFFF,
    categories=["L", "M", "N", "P", "S", "Zs"],
    include_characters="\u200c",
)


def value_strategy(placeholder: Placeholder) -> st.SearchStrategy[Any]:
    if isinstance(placeholder, NamePlaceholder):
        letters = st.characters(
            max_codepoint=0xFFFF, categories=["L", "M"], include_characters=" \u200c"
        )
        return st.text(letters, min_size=1, max_size=placeholder.max_len).filter(str.strip)
    if isinstance(placeholder, TextPlaceholder):
        return st.text(TYPED, min_size=1, max_size=placeholder.max_len).filter(str.strip)
    if isinstance(placeholder, DigitsPlaceholder):
        size = placeholder.length or placeholder.max_len
        return st.text("0123456789", min_size=placeholder.length or 1, max_size=size)
    if isinstance(placeholder, CodePlaceholder):
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        if placeholder.digits:
            alphabet = "0123456789"
        return st.text(alphabet, min_size=placeholder.min_len, max_size=placeholder.max_len)
    if isinstance(placeholder, DatePlaceholder | DateTimePlaceholder):
        start = datetime(2000, 1, 1, tzinfo=UTC)
        return st.integers(0, 60 * 365 * 24 * 60).map(lambda m: start + timedelta(minutes=m))
    if isinstance(placeholder, AmountPlaceholder):
        return st.integers(0, placeholder.max)
    if isinstance(placeholder, EnumPlaceholder):
        return st.sampled_from(sorted(placeholder.choices))
    assert isinstance(placeholder, GenderPlaceholder)
    return st.sampled_from(["male", "female", "unknown"])


@st.composite
def render_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, object]]:
    template = REGISTRY.get(draw(st.sampled_from(REGISTRY.ids())))
    params: dict[str, object] = {}
    for key, placeholder in template.placeholders.items():
        # Names stay present: a known gender needs one.
        optional = placeholder.optional and not isinstance(placeholder, TextPlaceholder)
        if optional and draw(st.booleans()):
            continue
        params[key] = draw(value_strategy(placeholder))
    return template.id, draw(st.sampled_from(["fa", "en"])), params


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(render_requests())
def test_no_valid_parameters_exceed_the_budget(request: tuple[str, str, dict[str, object]]) -> None:
    template_id, lang, params = request
    text = REGISTRY.render(template_id, lang, params)
    assert sms_segments(text).parts <= REGISTRY.get(template_id).budget_parts


@given(st.text(TYPED, min_size=41, max_size=80).filter(lambda s: len(" ".join(s.split())) > 40))
def test_a_too_long_name_is_refused_never_cut(name: str) -> None:
    with pytest.raises(TemplateError) as caught:
        REGISTRY.render("registration_activated", "fa", {"gender": "female", "name": name})
    assert (caught.value.code, caught.value.field) == ("invalid_parameter", "name")


@given(st.dictionaries(st.text(max_size=8), st.none() | st.text(max_size=8) | st.integers()))
def test_arbitrary_params_fail_only_with_template_error(params: dict[str, object]) -> None:
    codes = set()
    for template_id in ("password_reset", "complaint_status_changed"):
        try:
            REGISTRY.render(template_id, "fa", params)
        except TemplateError as exc:
            codes.add(exc.code)
    assert codes <= {"missing_parameter", "unknown_parameter", "invalid_parameter"}
