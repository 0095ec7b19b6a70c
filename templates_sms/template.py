"""One SMS template: its metadata, placeholders and texts, parsed and checked from a TOML file."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from templates_sms.digits import Lang
from templates_sms.errors import TemplateDefinitionError
from templates_sms.placeholders import LANGS, Placeholder, TextPlaceholder, parse_placeholder

Kind = Literal["otp", "transactional", "bulk"]
# Who may ask for a template: `callers` through `/v1/notifications`, or only the `gateway`'s own
# services (a verification code is made and checked by the gateway; a caller never sends one).
Audience = Literal["callers", "gateway"]
# Lower sends first: a code someone is waiting for beats a status notice, which beats a campaign.
KIND_PRIORITY: Mapping[Kind, int] = {"otp": 0, "transactional": 1, "bulk": 2}

SLOT_RE = re.compile(r"\{([^{}]*)\}")
_ID_RE = re.compile(r"[a-z][a-z0-9_]*")
_TOP_KEYS = {
    "id", "kind", "audience", "budget_parts", "resend_after_s", "valid_for_s", "description",
    "placeholders", "text",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    kind: Kind
    budget_parts: int
    placeholders: Mapping[str, Placeholder]
    texts: Mapping[Lang, str]
    resend_after_s: int | None = None
    description: str = ""
    # How long a message of this template is worth sending (a code's life); None: the default.
    valid_for_s: int | None = None
    audience: Audience = "callers"

    @property
    def priority(self) -> int:
        return KIND_PRIORITY[self.kind]


def _check_text(
    source: str, lang: Lang, text: str, placeholders: Mapping[str, Placeholder]
) -> None:
    """Every slot declared, every declared placeholder printed, no stray braces."""
    used = set(SLOT_RE.findall(text))
    if "{" in SLOT_RE.sub("", text) or "}" in SLOT_RE.sub("", text):
        raise TemplateDefinitionError(source, f"text.{lang} has an unmatched brace")
    undeclared = sorted(used - set(placeholders))
    if undeclared:
        raise TemplateDefinitionError(
            source, f"text.{lang} uses undeclared placeholder(s) {undeclared}"
        )
    printed = set(used)
    for key in used:
        printed.update(placeholders[key].references())
    unused = [key for key in placeholders if key not in printed]
    if unused:
        raise TemplateDefinitionError(source, f"text.{lang} does not use placeholder(s) {unused}")


def _check_references(source: str, placeholders: Mapping[str, Placeholder]) -> None:
    for key, placeholder in placeholders.items():
        for ref in placeholder.references():
            if not isinstance(placeholders.get(ref), TextPlaceholder):
                raise TemplateDefinitionError(
                    source, f"placeholders.{key} refers to {ref!r}, not a name or text placeholder"
                )


def _parse_kind(source: str, value: object) -> Kind:
    for kind in KIND_PRIORITY:
        if value == kind:
            return kind
    raise TemplateDefinitionError(source, f"kind must be one of {list(KIND_PRIORITY)}")


def parse_template(source: str, data: Mapping[str, object]) -> Template:
    """A Template from a parsed TOML table; `source` names the file in every error."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise TemplateDefinitionError(source, f"unknown keys {unknown}")
    template_id = data.get("id")
    if not isinstance(template_id, str) or not _ID_RE.fullmatch(template_id):
        raise TemplateDefinitionError(source, "id must be lower-case letters, digits and _")
    kind = _parse_kind(source, data.get("kind"))
    audience = data.get("audience", "callers")
    if audience not in ("callers", "gateway"):
        raise TemplateDefinitionError(source, "audience must be callers or gateway")
    budget = data.get("budget_parts")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
        raise TemplateDefinitionError(source, "budget_parts must be a positive integer")
    resend = _positive(source, data, "resend_after_s")
    valid_for = _positive(source, data, "valid_for_s")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise TemplateDefinitionError(source, "description must be a string")

    tables = data.get("placeholders", {})
    if not isinstance(tables, dict):
        raise TemplateDefinitionError(source, "placeholders must be a table")
    placeholders = {key: parse_placeholder(source, key, table) for key, table in tables.items()}
    _check_references(source, placeholders)

    texts = data.get("text")
    if not isinstance(texts, dict):
        raise TemplateDefinitionError(source, "missing [text] table with fa and en")
    missing = [lang for lang in LANGS if lang not in texts]
    if missing:
        raise TemplateDefinitionError(source, f"text: missing language {', '.join(missing)}")
    extra = sorted(set(texts) - set(LANGS))
    if extra:
        raise TemplateDefinitionError(source, f"text: unknown language(s) {extra}")
    checked: dict[Lang, str] = {}
    for lang in LANGS:
        text = texts[lang]
        if not isinstance(text, str) or not text.strip():
            raise TemplateDefinitionError(source, f"text.{lang} must be a non-empty string")
        _check_text(source, lang, text, placeholders)
        checked[lang] = text

    return Template(
        id=template_id,
        kind=kind,
        budget_parts=budget,
        placeholders=placeholders,
        texts=checked,
        resend_after_s=resend,
        description=description,
        valid_for_s=valid_for,
        audience="gateway" if audience == "gateway" else "callers",
    )


def _positive(source: str, data: Mapping[str, object], key: str) -> int | None:
    value = data.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise TemplateDefinitionError(source, f"{key} must be a positive integer")
    return value


def load_template_file(path: Path) -> Template:
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateDefinitionError(source, f"not valid TOML: {exc}") from None
    template = parse_template(source, data)
    if template.id != path.stem:
        raise TemplateDefinitionError(source, f"id {template.id!r} differs from the file name")
    return template
