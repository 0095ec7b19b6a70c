"""JSON errors with a stable `code`; nothing a caller sends turns into a bare 500."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from sessions.masking import mask_text
from sessions.ports import Busy

log = logging.getLogger("gateway.web.errors")


def error_response(status: int, code: str, message: str, **extra: Any) -> web.Response:
    body = {"code": code, "message": message, **extra}
    return web.json_response(body, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


class ApiError(Exception):
    """Raised by handlers for a clear client error."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def response(self) -> web.Response:
        response = error_response(self.status, self.code, self.message, **self.extra)
        if "retry_after" in self.extra:
            response.headers["Retry-After"] = str(self.extra["retry_after"])
        return response


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_for(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The JSON answer for what a handler raised; a redirect (< 400) is raised on."""
    if isinstance(exc, ApiError):
        return exc.response()
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        response = error_response(exc.status, _HTTP_CODES.get(exc.status, "http_error"), exc.reason)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    if isinstance(exc, Busy):
        # Another process held a session or the database's writer past its limit: busy, not
        # broken, and worth retrying. Any other timeout is a fault and is logged as one.
        log.warning("busy on %s %s: %s", request.method, mask_text(request.path), exc)
        response = error_response(503, "busy", "the gateway is busy; try again in a moment")
        response.headers["Retry-After"] = "1"
        return response
    log.exception("unhandled error on %s %s", request.method, mask_text(request.path), exc_info=exc)
    return error_response(500, "internal_error", "an internal error occurred; it has been logged")
