"""An example for every request and response of the OpenAPI document, made from the schemas: a
model's own example first, then each field's, then a value its type and limits allow. Made, not
written by hand, so an example cannot fall out of step with its model (a test validates each one
against its schema)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REF = "#/components/schemas/"
_FORMATS = {
    "date-time": "2025-11-21T10:30:00Z",
    "date": "2025-11-21",
    "uri": "https://example.org/",
}
_DIGITS = re.compile(r"^\^\[0-9\]\{(\d+)(?:,\d+)?\}\$$")


def example_for_pattern(pattern: str) -> str:
    """A value of a path parameter's pattern: digits of the length asked, else a word."""
    digits = _DIGITS.fullmatch(pattern)
    if digits is None:
        return "kavenegar" if "a-z" in pattern else "s3cr3t-token"
    if int(digits.group(1)) == 10:
        return "0012345679"  # a national ID with its check digit
    return "1" * int(digits.group(1))


def example(schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> Any:
    if "$ref" in schema:
        return example(schemas[str(schema["$ref"]).removeprefix(_REF)], schemas)
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    if "const" in schema:
        return schema["const"]
    if schema.get("default") is not None:
        return schema["default"]
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        return example(branches[0], schemas) if branches else None
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: example(prop, schemas) for name, prop in properties.items()}
    if kind == "array":
        return [example(schema.get("items", {}), schemas)]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    if kind == "string":
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        return "x" * max(int(schema.get("minLength", 1)), 1)
    return None
