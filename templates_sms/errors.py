"""The two ways a template can fail: a caller's bad parameters, or a broken template file."""

from __future__ import annotations

from typing import Literal

ErrorCode = Literal[
    "unknown_template", "missing_parameter", "unknown_parameter", "invalid_parameter"
]


class TemplateError(Exception):
    """A render request the caller can fix; stable `code` and `field` let an API answer 400."""

    def __init__(self, code: ErrorCode, field: str, message: str) -> None:
        super().__init__(f"{code}: {field}: {message}")
        self.code: ErrorCode = code
        self.field = field
        self.message = message


class TemplateDefinitionError(ValueError):
    """A template data file that is malformed; raised at load time, never while rendering."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message
