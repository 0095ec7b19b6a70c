"""How a route describes itself for the OpenAPI document: each `/v1` module lists its own
operations beside its handlers and models (`OPERATIONS`), so a new resource is described where it is
written; `openapi.py` gathers them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

TEXT = "text/plain"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class Op:
    method: str
    path: str
    summary: str
    tag: str
    ok: int = 200
    response: type[BaseModel] | str | None = None  # a model, or a plain-text description
    body: type[BaseModel] | None = None
    body_type: str = JSON
    query: type[BaseModel] | None = None
    scope: str | None = None
    path_params: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name: (text, regex)
    description: str = ""
    # The error codes this operation answers beyond those every operation of its kind shares
    # (openapi.py adds the API's auth and body errors, and the callbacks' field errors).
    errors: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
