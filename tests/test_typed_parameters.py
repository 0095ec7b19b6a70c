"""Parameters a caller fills are typed narrowly: a link where a name goes, letters in a code or a
code of the wrong length is a 400 naming the parameter, and `check` fails while any template a
caller may send still takes free text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway import app as app_module
from gateway.cli import check
from templates_sms import DATA_DIR, TemplateError, TemplateRegistry, load_templates
from tests.api_helpers import bearer, call, sms
from tests.conftest import GatewayFactory

NOTICE = """
id = "notice"
kind = "transactional"
budget_parts = 2
description = "A caller's notice."

[placeholders.name]
type = "{name_type}"
max_len = 40

[text]
fa = "{{name}} گرامی، درخواست شما ثبت شد."
en = "Dear {{name}}, your request was filed."
"""


def _registry(tmp_path: Path, name_type: str) -> TemplateRegistry:
    (tmp_path / "notice.toml").write_text(NOTICE.format(name_type=name_type), encoding="utf-8")
    return load_templates(tmp_path)


@pytest.mark.parametrize(
    ("code", "field"),
    [
        ("12ab", "params.code"),  # letters in a digits code
        ("123", "params.code"),  # too short
        ("123456789", "params.code"),  # too long
        ("http://evil.example/x?a=1", "params.code"),
        (1234, "params.code"),
    ],
)
async def test_a_code_outside_its_type_is_refused_naming_it(
    gateway: GatewayFactory, code: object, field: str
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    body = {"recipient": "09121234567", "template": "activation_code", "params": {"code": code}}
    status, answer = await call(client, "POST", "/v1/notifications", auth, body)
    assert (status, answer["code"], answer["field"]) == (400, "invalid_parameter", field)
    assert await sms(client) == []


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({}, "missing_parameter", "params.code"),
        ({"code": "4829", "link": "https://evil.example"}, "unknown_parameter", "params.link"),
    ],
)
async def test_a_missing_or_extra_parameter_is_refused_naming_it(
    gateway: GatewayFactory, params: dict[str, str], code: str, field: str
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    body = {"recipient": "09121234567", "template": "activation_code", "params": params}
    status, answer = await call(client, "POST", "/v1/notifications", auth, body)
    assert (status, answer["code"], answer["field"]) == (400, code, field)


async def test_a_code_in_any_digit_script_is_sent_in_ascii(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    body = {"recipient": "09121234567", "template": "activation_code", "params": {"code": "۴٨۲9"}}
    status, answer = await call(client, "POST", "/v1/notifications", auth, body)
    assert status == 202, answer
    registry = load_templates()
    assert "4829" in registry.render("activation_code", "fa", {"code": "۴٨۲9"})


@pytest.mark.parametrize(
    "name",
    [
        "http://evil.example/x?a=1",
        "www.evil.example",
        "علی 09121234567",
        "Ali; call 021",
        "<b>Ali</b>",
    ],
)
def test_a_name_outside_letters_and_spaces_is_refused(tmp_path: Path, name: str) -> None:
    registry = _registry(tmp_path, "name")
    with pytest.raises(TemplateError) as caught:
        registry.render("notice", "fa", {"name": name})
    assert (caught.value.code, caught.value.field) == ("invalid_parameter", "name")


def test_a_name_is_normalised_and_keeps_its_zwnj(tmp_path: Path) -> None:
    registry = _registry(tmp_path, "name")
    text = registry.render("notice", "fa", {"name": "علي\u200cرضا كريمي"})
    assert text.startswith("علی\u200cرضا کریمی گرامی")
    assert "Dear Ali Karimi," in registry.render("notice", "en", {"name": "Ali  Karimi"})


def test_check_names_a_caller_template_that_takes_free_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = _registry(tmp_path, "text")
    [problem] = registry.untyped()
    assert problem.startswith("notice: parameter name is text")
    monkeypatch.setattr(check, "load_templates", lambda: registry)
    assert check.run_check() == 1
    assert "UNTYPED notice: parameter name is text" in capsys.readouterr().out


def test_check_passes_once_the_parameter_is_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = _registry(tmp_path, "name")
    assert registry.untyped() == []
    monkeypatch.setattr(check, "load_templates", lambda: registry)
    assert check.run_check() == 0


def test_the_shipped_caller_templates_are_all_typed() -> None:
    assert load_templates().untyped() == []


LINKED = """
id = "linked"
kind = "transactional"
budget_parts = 2
description = "A notice with a link, declared as one."

[placeholders.link]
type = "link"
max_len = 60

[text]
fa = "رسید پرداخت شما: {link}"
en = "Your payment receipt: {link}"
"""


@pytest.fixture
def with_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TemplateRegistry:
    for source in DATA_DIR.glob("*.toml"):
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / "linked.toml").write_text(LINKED, encoding="utf-8")
    registry = load_templates(tmp_path)
    monkeypatch.setattr(app_module, "load_templates", lambda: registry)
    return registry


async def _send_link(gateway: GatewayFactory, link: object) -> tuple[int, dict[str, object]]:
    client = await gateway(template_link_hosts="my.gov.ir, Pay.Example.IR")
    auth = await bearer(client, "notify")
    body = {"recipient": "09121234567", "template": "linked", "params": {"link": link}}
    return await call(client, "POST", "/v1/notifications", auth, body)


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/x?a=1",  # a host not listed
        "http://my.gov.ir/receipt",  # plain http
        "https://my.gov.ir.evil.example/",  # a listed name as a prefix
        "https://user@my.gov.ir/",  # user info
        "https://my.gov.ir:8443/",  # a port
        "https://my.gov.ir/a b",  # a space
        "https://my.gov.ir/~x",  # a character outside GSM-7's basic set
        "javascript:alert(1)",
        "https://my.gov.ir/" + "a" * 50,  # longer than declared
        7,
    ],
)
async def test_a_link_outside_its_type_or_allow_list_is_refused(
    gateway: GatewayFactory, with_link: TemplateRegistry, link: object
) -> None:
    status, answer = await _send_link(gateway, link)
    assert (status, answer["code"], answer["field"]) == (400, "invalid_parameter", "params.link")


@pytest.mark.parametrize("link", ["https://my.gov.ir/r?id=12", "https://pay.example.ir"])
async def test_a_link_to_a_listed_host_is_accepted(
    gateway: GatewayFactory, with_link: TemplateRegistry, link: str
) -> None:
    status, answer = await _send_link(gateway, link)
    assert status == 202, answer
    assert link in with_link.render("linked", "fa", {"link": link})


async def test_no_link_is_accepted_while_no_host_is_listed(
    gateway: GatewayFactory, with_link: TemplateRegistry
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    params = {"link": "https://my.gov.ir/r"}
    body = {"recipient": "09121234567", "template": "linked", "params": params}
    status, answer = await call(client, "POST", "/v1/notifications", auth, body)
    assert (status, answer["code"], answer["field"]) == (400, "invalid_parameter", "params.link")


def test_a_link_counts_as_typed_and_fits_its_budget(with_link: TemplateRegistry) -> None:
    assert with_link.untyped() == []
    assert with_link.check() == []
