"""Structured logging where every line is masked: no national ID, mobile, code or key in clear."""

from __future__ import annotations

import binascii
import contextvars
import logging
import random
import re
import sys
import time
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse
from pythonjsonlogger.json import JsonFormatter

from gateway.web.counters import UNMATCHED
from sessions.masking import mask_text

REQUEST_ID_HEADER = "X-Request-ID"
# When the edge took the request (time.perf_counter): uvloop's clock, which aiohttp times the
# access log by, counts whole milliseconds.
STARTED = web.RequestKey("started", float)

# Six or more digits with the separators people type between them (`001-354-2419`, `0912 123`).
_DIGIT = "[0-9\u06f0-\u06f9\u0660-\u0669]"
_SEPARATED_DIGITS = re.compile(rf"{_DIGIT}(?:[\s\-_.()/,+]*{_DIGIT}){{5,}}")

# Fields whose values the gateway or a provider makes and that hold nothing personal, written as
# they are: masking would take the 18-digit notification id, the provider's message id (what its
# panel is searched by) or a time for a long number. Every other value (the message, a caller's
# request id, any extra) is masked.
_KEPT = frozenset(
    {"ts", "level", "logger", "status", "duration_ms", "notification_id", "attempt",
     "provider_message_id"}
)  # fmt: skip

# The request a line was written for: set by the edge (gateway/web/edge.py) around each handler.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


_CALLER_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# Hex digits as letters: an id of letters alone is never taken for a number by the masking.
_AS_LETTERS = bytes.maketrans(b"0123456789", b"ghijklmnop")


def request_id(given: str | None) -> str:
    """The caller's `X-Request-ID` when it is a sane token, else a new one (96 random bits)."""
    if given is not None and _CALLER_ID.fullmatch(given):
        return given
    # A label to follow a request by, not a secret: the fast generator serves (0.5 µs a request).
    return binascii.hexlify(random.randbytes(12)).translate(_AS_LETTERS).decode()


def tag_requests() -> None:
    """Every log record made while a request is handled carries its id (`request_id`), whichever
    handler formats it later. Installed once, by the app factory; idempotent."""
    make = logging.getLogRecordFactory()
    if getattr(make, "tags_requests", False):
        return

    def tagged(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        rid = REQUEST_ID.get()
        if rid is not None:
            record.request_id = rid
        return record

    tagged.tags_requests = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(tagged)


def _masked(value: Any) -> Any:
    """A field's value masked; a number stays a number unless it could be a person's."""
    if isinstance(value, bool | float) or value is None:
        return value
    text = mask_text(value if isinstance(value, str) else str(value))
    return value if isinstance(value, int) and text == str(value) else text


class _JsonFields(JsonFormatter):
    """python-json-logger's formatter: ISO timestamps in UTC, the record's extras as fields."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "message": "msg"},
            timestamp="ts",
            json_ensure_ascii=False,
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        ts = log_data.pop("ts")
        fields = {k: v if k in _KEPT else _masked(v) for k, v in log_data.items()}
        return {"ts": ts.isoformat(timespec="milliseconds"), **fields}


class MaskingFormatter(logging.Formatter):
    """Masks what it writes, so a careless `%s` of a number can never leak it. JSON lines carry
    the record's fields (method, route, status, duration_ms, request_id, notification_id, …)."""

    def __init__(self, as_json: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.as_json = as_json
        self._json = _JsonFields()

    def format(self, record: logging.LogRecord) -> str:
        if self.as_json:
            return self._json.format(record)
        return mask_text(super().format(record))


def configure(level: str = "INFO", as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter(as_json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def logged_path(request: BaseRequest) -> str:
    """The matched route's pattern (`/v1/registrations/{national_id}`), never the path as sent: a
    number typed with separators (`001-354-2419`, `001%20354%202419`) would slip past masking.
    Only a request the fallback serves (a 404 or 405: no route for its path, or none for its
    method) logs its own path, masked, with every run of six or more digits hidden whatever
    separates them."""
    try:
        match_info = getattr(request, "match_info", None)
    except AssertionError:  # a request the parser refused was never matched to a route
        match_info = None
    route = getattr(match_info, "route", None)
    resource = getattr(route, "resource", None)
    if resource is not None and resource.name != UNMATCHED:
        return mask_text(resource.canonical)
    return mask_text(_SEPARATED_DIGITS.sub("***", request.path))


class AccessLogger(AbstractAccessLogger):
    """Method, route (no query string: operators put numbers there), status and time, masked."""

    def log(self, request: BaseRequest, response: StreamResponse, duration: float) -> None:
        try:
            self._log(request, response, duration)
        except Exception:  # a line lost is better than a connection's answer lost
            self.logger.warning("an access log line could not be written", exc_info=False)

    def _log(self, request: BaseRequest, response: StreamResponse, duration: float) -> None:
        route = logged_path(request)
        started = request.get(STARTED)
        if started is not None:
            duration = time.perf_counter() - started
        ms = round(duration * 1000, 3)
        self.logger.info(
            "%s %s %s %.3fms",
            request.method,
            route,
            response.status,
            ms,
            extra={
                "method": request.method,
                "route": route,
                "status": response.status,
                "duration_ms": ms,
                "request_id": response.headers.get(REQUEST_ID_HEADER),
            },
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
