"""The template registry: load every data file, render with checked parameters, prove budgets."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from templates_sms.digits import Lang
from templates_sms.errors import TemplateDefinitionError, TemplateError
from templates_sms.gsm import Encoding, Segments, sms_segments
from templates_sms.placeholders import LANGS, GenderPlaceholder
from templates_sms.template import SLOT_RE, Template, load_template_file

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True, slots=True)
class Breach:
    """A template whose worst-case rendering needs more SMS parts than it declares."""

    template_id: str
    lang: Lang
    parts: int
    budget_parts: int
    length: int
    encoding: Encoding
    text: str

    def __str__(self) -> str:
        return (
            f"{self.template_id} [{self.lang}]: worst case is {self.parts} SMS parts "
            f"({self.length} {self.encoding} characters), budget {self.budget_parts}"
        )


class TemplateRegistry:
    """Templates by id. Rendering validates every parameter and never cuts a value short."""

    def __init__(self, templates: Mapping[str, Template]) -> None:
        self._templates = dict(templates)

    def __len__(self) -> int:
        return len(self._templates)

    def __iter__(self) -> Iterator[Template]:
        return iter(self._templates.values())

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._templates

    def ids(self) -> list[str]:
        return sorted(self._templates)

    def get(self, template_id: str) -> Template:
        """The template, or TemplateError("unknown_template", field="template")."""
        try:
            return self._templates[template_id]
        except KeyError:
            raise TemplateError(
                "unknown_template", "template", f"no template {template_id!r}"
            ) from None

    def render(self, template_id: str, lang: str, params: Mapping[str, object]) -> str:
        """The SMS text. A parameter set to None counts as absent."""
        template = self.get(template_id)
        language = _language(lang)
        values = _checked_values(template, params)
        slots: dict[str, str] = {}
        for key, placeholder in template.placeholders.items():
            if key in values:
                prefix = placeholder.prefix.get(language, "")
                slots[key] = prefix + placeholder.format(values[key], language, values)
            else:
                slots[key] = placeholder.format_absent(language, values)
        return SLOT_RE.sub(lambda match: slots[match[1]], template.texts[language])

    def worst_case(self, template_id: str, lang: Lang) -> tuple[str, Segments]:
        """The rendering that needs the most SMS parts (then characters), with its segments."""
        template = self.get(template_id)
        keys = list(template.placeholders)
        candidates = [template.placeholders[key].worst_values(lang) for key in keys]
        worst: tuple[str, Segments] | None = None
        # Only enums and the gender offer more than one value, so the product stays small.
        for combination in itertools.product(*candidates):
            text = self.render(template_id, lang, dict(zip(keys, combination, strict=True)))
            segments = sms_segments(text)
            if worst is None or (segments.parts, segments.length) > (
                worst[1].parts,
                worst[1].length,
            ):
                worst = (text, segments)
        assert worst is not None  # itertools.product of no iterables yields one empty tuple
        return worst

    def check(self) -> list[Breach]:
        """Every template in every language whose worst case exceeds its budget_parts."""
        breaches: list[Breach] = []
        for template_id in self.ids():
            budget = self._templates[template_id].budget_parts
            for lang in LANGS:
                text, segments = self.worst_case(template_id, lang)
                if segments.parts > budget:
                    breaches.append(
                        Breach(
                            template_id=template_id,
                            lang=lang,
                            parts=segments.parts,
                            budget_parts=budget,
                            length=segments.length,
                            encoding=segments.encoding,
                            text=text,
                        )
                    )
        return breaches

    def untyped(self) -> list[str]:
        """Parameters a caller may fill that accept free text: each must have a narrower type.

        Free text from a caller would be sent from the official line in the organisation's voice
        (a link, a sentence); only the gateway's own flows, filling from their records, use it.
        """
        found: list[str] = []
        for template_id in self.ids():
            template = self._templates[template_id]
            if template.audience != "callers":
                continue
            for key, placeholder in template.placeholders.items():
                if placeholder.type_name in FREE_TEXT_TYPES:
                    found.append(
                        f"{template_id}: parameter {key} is {placeholder.type_name}; a template "
                        "callers may send needs a narrower type (name, digits, code, amount, "
                        "date, datetime, enum, gender)"
                    )
        return found


FREE_TEXT_TYPES = frozenset({"text"})


def _language(lang: str) -> Lang:
    for known in LANGS:
        if lang == known:
            return known
    raise TemplateError("invalid_parameter", "lang", f"expected one of: {', '.join(LANGS)}")


def _checked_values(template: Template, params: Mapping[str, object]) -> dict[str, object]:
    """Normalised values of the present parameters, or the first problem as a TemplateError."""
    unknown = sorted(set(params) - set(template.placeholders))
    if unknown:
        raise TemplateError(
            "unknown_parameter", unknown[0], f"template {template.id!r} has no such placeholder"
        )
    values: dict[str, object] = {}
    for key, placeholder in template.placeholders.items():
        value = params.get(key)
        if value is None:
            if not placeholder.optional:
                raise TemplateError("missing_parameter", key, "this parameter is required")
            continue
        values[key] = placeholder.check(value)
    for placeholder in template.placeholders.values():
        if (
            isinstance(placeholder, GenderPlaceholder)
            and placeholder.needs_name(values.get(placeholder.key))
            and placeholder.name not in values
        ):
            raise TemplateError(
                "missing_parameter", placeholder.name, "a name is required with a known gender"
            )
    return values


def load_templates(directory: Path | str | None = None) -> TemplateRegistry:
    """Parse and validate every `*.toml` in `directory` (default: the shipped templates)."""
    folder = Path(directory) if directory is not None else DATA_DIR
    paths = sorted(folder.glob("*.toml"))
    if not paths:
        raise TemplateDefinitionError(str(folder), "no *.toml template files")
    templates = [load_template_file(path) for path in paths]
    return TemplateRegistry({template.id: template for template in templates})
