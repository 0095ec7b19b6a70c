"""Reading `/v1` requests into models and writing answers: every bad input becomes one 400 with a
stable `code` and the `field` at fault, before anything is written."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from gateway.web.errors import ApiError
from sessions.json_depth import TooDeep, check_depth
from sessions.validators import InvalidInput
from templates_sms import TemplateError

M = TypeVar("M", bound=BaseModel)

_NOT_AN_OBJECT = "the body must be a JSON object, encoded in UTF-8"


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


async def read_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object. The content type is not insisted on (`curl -d` sends a form
    type), but the bytes must be UTF-8 JSON."""
    raw = await request.read()
    try:
        check_depth(raw)
        data = json.loads(raw.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except TooDeep as exc:
        raise ApiError(400, exc.code, str(exc)) from None
    except (ValueError, RecursionError):
        # ValueError covers bad UTF-8, bad JSON and integers past the digit limit; the depth is
        # bounded above, and RecursionError stays caught in case the stack is nearly spent.
        raise ApiError(400, "invalid_body", _NOT_AN_OBJECT) from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", _NOT_AN_OBJECT)
    return data


def _error(detail: ErrorDetails) -> ApiError:
    loc = detail["loc"]
    field = str(loc[0]) if loc else None
    kind = detail["type"]
    if kind == "missing":
        return ApiError(400, "missing_field", "this field is required", field=field)
    if kind == "extra_forbidden":
        return ApiError(400, "unknown_field", "this field is not part of the request", field=field)
    cause = detail.get("ctx", {}).get("error")
    if isinstance(cause, InvalidInput):
        return ApiError(400, cause.code, str(cause), field=field)
    message = str(cause) if isinstance(cause, ValueError) else detail["msg"]
    return ApiError(400, "invalid_field", message, field=field)


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _error(exc.errors(include_url=False)[0]) from None


async def read_model(request: web.Request, model: type[M]) -> M:
    return validate(model, await read_object(request))


def read_query(request: web.Request, model: type[M]) -> M:
    data: dict[str, Any] = {}
    for key in dict.fromkeys(request.query.keys()):
        values = request.query.getall(key)
        if len(values) > 1:
            raise ApiError(400, "invalid_field", "give this parameter once", field=key)
        data[key] = values[0]
    return validate(model, data)


def path_value(request: web.Request, name: str, check: Callable[[str], str]) -> str:
    """A path parameter through its domain validator (which normalises digits)."""
    try:
        return check(request.match_info[name])
    except InvalidInput as exc:
        raise ApiError(400, exc.code, str(exc), field=name) from None


@contextmanager
def rendering_as(**fields: str) -> Iterator[None]:
    """A value the SMS renderer still refuses is the caller's bad field, not a 500. The storage
    renders inside its transaction, so the failed change has been rolled back. `fields` maps a
    template placeholder to the request field it came from."""
    try:
        yield
    except TemplateError as exc:
        field = fields.get(exc.field, exc.field)
        raise ApiError(400, "invalid_field", exc.message, field=field) from None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def answer(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(model.model_dump(mode="json"), status=status, dumps=_dumps)
