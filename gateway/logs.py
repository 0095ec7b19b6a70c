"""Structured logging where every line is masked: no national ID, mobile, code or key in clear."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from gateway.masking import mask_text

_STANDARD = set(vars(logging.makeLogRecord({})))


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


class AccessLogger(AbstractAccessLogger):
    """Method, path (no query string: operators put numbers there), status and time, masked."""

    def log(self, request: BaseRequest, response: StreamResponse, duration: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms",
            request.method,
            mask_text(request.path),
            response.status,
            duration * 1000,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
