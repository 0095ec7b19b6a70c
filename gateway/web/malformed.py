"""The answer to a request that aiohttp's own parser refuses before any route sees it (a request
line or a header over 8,190 bytes, a body in an encoding the gateway cannot read, garbled
framing): the same JSON error shape as every other 4xx, never the offending line echoed back,
and a log line that names the fault without quoting it (the line may hold a national ID).

aiohttp answers these in `RequestHandler.handle_error` with a text/plain body made of the
exception's text; the server builds its handlers itself, so the method is replaced once, by the
app factory (`install`). The edge (gateway/web/edge.py) answers everything a route raises, so
only the parser's refusals and the server's own faults arrive here.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web, web_protocol
from aiohttp.http_exceptions import ContentEncodingError, HttpProcessingError, LineTooLong

from gateway.web.access import secure
from gateway.web.errors import error_response
from gateway.web.logs import REQUEST_ID_HEADER, request_id

log = logging.getLogger("gateway.web.malformed")

_MAX_LINE = 8190  # aiohttp's limit on a request line and on each header


def answer(status: int, exc: BaseException | None) -> web.Response:
    """The JSON answer for a request the parser refused with `exc` (or a server fault)."""
    if isinstance(exc, ContentEncodingError):
        return error_response(
            415, "unsupported_encoding", "the body's Content-Encoding may be gzip or deflate only"
        )
    if isinstance(exc, LineTooLong):
        return error_response(
            400,
            "line_too_long",
            f"the request line and each header may be at most {_MAX_LINE} bytes",
        )
    if status >= 500:
        return error_response(status, "internal_error", "an internal error occurred")
    return error_response(status, "malformed_request", "the request could not be read as HTTP")


def _handle_error(
    self: web_protocol.RequestHandler,
    request: web.BaseRequest,
    status: int = 500,
    exc: BaseException | None = None,
    message: str | None = None,
) -> web.StreamResponse:
    # The exception's text quotes the line it choked on: only its kind is logged.
    kind = type(exc).__name__ if exc is not None else "none"
    if isinstance(exc, HttpProcessingError) or status < 500:
        log.info("refused a malformed request from %s: %s", request.remote, kind)
    else:
        log.error("server fault answering %s: %s", request.remote, kind)
    if request.writer.output_size > 0:  # as aiohttp: an answer has begun, the connection is lost
        raise ConnectionError("the answer had begun; no error can be sent")
    response = answer(status, exc)
    secure(response, api=True)
    response.headers[REQUEST_ID_HEADER] = request_id(None)
    response.force_close()
    return response


def install() -> None:
    """Idempotent: every request handler aiohttp makes answers its refusals in JSON."""
    handler: Any = web_protocol.RequestHandler
    if handler.handle_error is not _handle_error:
        handler.handle_error = _handle_error
