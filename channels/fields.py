"""Reading operator fields: required ones named when missing, the caller's number made canonical."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import unquote

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ValidationError

from channels.models import BadCallback
from sessions.json_depth import TooDeep, check_depth
from sessions.validators import InvalidInput, mobile

# What reading a body can raise on hostile input: an unknown charset (LookupError), bytes that are
# not in it (UnicodeDecodeError, a ValueError), a malformed multipart body (ValueError, an unknown
# part encoding's RuntimeError, a nested part's TypeError, garbled part headers). A body over the
# limit is an HTTPException, none of these, and still answers 413.
UNREADABLE_BODY: tuple[type[Exception], ...] = (
    ValueError,
    LookupError,
    RuntimeError,
    TypeError,
    HttpProcessingError,
)

URLENCODED = "application/x-www-form-urlencoded"
MAX_FIELD = 512
MAX_FIELDS = 1000  # as aiohttp's own form reader; more is a malformed body
MAX_HISTORY = 8192  # a cumulative `text` grows with every answer of a long session


async def form_fields(request: web.Request) -> Mapping[str, str]:
    """Form body (POST) merged over the query string (GET or POST), as operators use both."""
    fields = {k: v for k, v in request.query.items()} if request.query_string else {}
    if request.method == "POST" and request.can_read_body:
        try:
            arrived = _arrived_form(request)  # an operator's hop: without another coroutine
            fields.update(arrived if arrived is not None else await _form(request))
        except UNREADABLE_BODY as exc:
            raise BadCallback("malformed_body", [], "the form body could not be read") from exc
    return fields


def _arrived_form(request: web.Request) -> list[tuple[str, str]] | None:
    """The pairs of a urlencoded body, as operators send it, that has all arrived; else None.
    The header is compared as it is, before aiohttp parses it."""
    if request.headers.get(hdrs.CONTENT_TYPE) != URLENCODED:
        return None
    body = _buffered(request)
    return None if body is None else urlencoded_pairs(body.rstrip().decode("utf-8"))


async def _form(request: web.Request) -> list[tuple[str, str]]:
    if request.content_type == URLENCODED:
        # What `request.post()` does for this type, without building a MultiDict on every hop.
        charset = request.charset or "utf-8"
        body = _buffered(request)
        text = (body if body is not None else await request.read()).rstrip().decode(charset)
        return urlencoded_pairs(text, charset)
    form = await request.post()  # multipart, or a body with no form type
    return [(k, v) for k, v in form.items() if isinstance(v, str)]


def _buffered(request: web.Request) -> bytes | None:
    """The whole body if it has all arrived, else None (`request.read()` waits for it). A
    declared body that has all arrived (an operator's hop: a few hundred bytes, in the packet of
    its headers) is taken from the buffer, without the two coroutines and two copies of
    `request.read()`; the body is read once: nothing reads it after the dialect.
    `access.limit_body` has held the declared length to the route's limit, but a compressed body
    (`Content-Encoding`) arrives unpacked, so its own length is held to it here, as
    `request.read()` would."""
    content = request.content
    if request.content_length is None or not content.is_eof():
        return None
    body = content.read_nowait()
    if len(body) > request.client_max_size:
        raise web.HTTPRequestEntityTooLarge(max_size=request.client_max_size, actual_size=len(body))
    return body


_CACHED_UNQUOTE = 64  # characters: a cached value is a short code like "*123#", never a body
_CACHE_SIZE = 4096
# Every hop sends the same few escaped values (its service code, a menu path): a plain dict,
# emptied when full, finds them faster than `functools.lru_cache` would.
_unquoted: dict[str, str] = {}


def _unquote(value: str, charset: str) -> str:
    if len(value) > _CACHED_UNQUOTE or charset != "utf-8":
        return unquote(value, charset, "replace")
    found = _unquoted.get(value)
    if found is None:
        if len(_unquoted) >= _CACHE_SIZE:
            _unquoted.clear()
        found = _unquoted[value] = unquote(value, charset, "replace")
    return found


def urlencoded_pairs(text: str, charset: str = "utf-8") -> list[tuple[str, str]]:
    """`urllib.parse.parse_qsl(text, keep_blank_values=True, encoding=charset,
    max_num_fields=MAX_FIELDS)`, pair for pair, at a third of its cost on an operator's
    five-field body: a field with no `+` or `%` is taken as it is."""
    if text.count("&") >= MAX_FIELDS:
        raise ValueError(f"more than {MAX_FIELDS} fields")
    pairs = []
    for piece in text.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "+" in piece:
            name, value = name.replace("+", " "), value.replace("+", " ")
        if "%" in name:
            name = _unquote(name, charset)
        if "%" in value:
            value = _unquote(value, charset)
        pairs.append((name, value))
    return pairs


async def json_fields(request: web.Request) -> Mapping[str, Any]:
    try:
        body = await request.read()
        check_depth(body)
        data = json.loads(body or b"null")
    except TooDeep as exc:
        raise BadCallback(exc.code, [], str(exc)) from exc
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadCallback("malformed_json", [], "the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BadCallback("malformed_json", [], "the body must be a JSON object")
    return data


def require(
    fields: Mapping[str, str],
    names: tuple[str, ...],
    allow_empty: tuple[str, ...] = (),
    long: tuple[str, ...] = (),
) -> None:
    missing: list[str] = []
    too_long: list[str] = []
    for name in names:  # one loop: it runs on every hop
        value = fields.get(name)
        if value is None or (name not in allow_empty and not value.strip()):
            missing.append(name)
        elif len(value) > (MAX_HISTORY if name in long else MAX_FIELD):
            too_long.append(name)
    if missing:
        raise BadCallback("missing_fields", missing, f"missing fields: {', '.join(missing)}")
    if too_long:
        raise BadCallback("invalid_fields", too_long, f"fields too long: {', '.join(too_long)}")


def caller(value: str, field: str) -> str:
    try:
        return mobile(value)
    except InvalidInput as exc:
        raise BadCallback(
            "invalid_fields", [field], f"{field} is not an Iranian mobile number"
        ) from exc


M = TypeVar("M", bound=BaseModel)


async def json_model(request: web.Request, model: type[M]) -> M:
    """A JSON dialect's body through its model: missing fields, then invalid ones, named."""
    data = await json_fields(request)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        missing = sorted({str(e["loc"][0]) for e in exc.errors() if e["type"] == "missing"})
        if missing:
            raise BadCallback(
                "missing_fields", missing, f"missing fields: {', '.join(missing)}"
            ) from exc
        invalid = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        raise BadCallback(
            "invalid_fields", invalid, f"invalid fields: {', '.join(invalid)}"
        ) from exc


def json_answer(body: BaseModel) -> web.Response:
    return web.json_response(body.model_dump(), dumps=lambda v: json.dumps(v, ensure_ascii=False))
