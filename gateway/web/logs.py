"""Structured logging where every line is masked: no national ID, mobile, code or key in clear."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from gateway.web.counters import UNMATCHED
from sessions.masking import mask_text

_STANDARD = set(vars(logging.makeLogRecord({})))
# Six or more digits with the separators people type between them (`001-354-2419`, `0912 123`).
_DIGIT = "[0-9\u06f0-\u06f9\u0660-\u0669]"
_SEPARATED_DIGITS = re.compile(rf"{_DIGIT}(?:[\s\-_.()/,+]*{_DIGIT}){{5,}}")


class MaskingFormatter(logging.Formatter):
    """Masks the final text, so a careless `%s` of a number can never leak it."""

    def __init__(self, as_json: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        if not self.as_json:
            return mask_text(super().format(record))
        payload: dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        masked = mask_text(json.dumps(payload, ensure_ascii=False, default=str))
        # The timestamp is added after masking, which would take it for a long number.
        return f'{{"ts": {round(record.created, 3)}, {masked[1:]}'


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
    match_info = getattr(request, "match_info", None)
    route = getattr(match_info, "route", None)
    resource = getattr(route, "resource", None)
    if resource is not None and resource.name != UNMATCHED:
        return mask_text(resource.canonical)
    return _SEPARATED_DIGITS.sub("***", mask_text(request.path))


class AccessLogger(AbstractAccessLogger):
    """Method, route (no query string: operators put numbers there), status and time, masked."""

    def log(self, request: BaseRequest, response: StreamResponse, duration: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms",
            request.method,
            logged_path(request),
            response.status,
            duration * 1000,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
