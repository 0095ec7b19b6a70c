"""The parser's edge: bodies nested too deep, request lines and headers too long, encodings the
gateway cannot read, the `Bearer` scheme in any case, numbers typed in groups masked."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.settings import Settings
from gateway.web.logs import AccessLogger
from sessions.json_depth import MAX_DEPTH, TooDeep, check_depth
from sessions.masking import mask_text
from tests.api_helpers import bearer, call
from tests.conftest import GatewayFactory


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    "path", ["/ussd/json", "/ussd/hubtel", "/ussd/nalo", "/sms/console/status"]
)
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 32, 5000])
async def test_a_body_nested_too_deep_is_a_400_on_every_json_reader(
    gateway: GatewayFactory, path: str, depth: int
) -> None:
    client = await gateway()
    body = b'{"a": ' + nested(depth) + b"}"
    headers = {"Content-Type": "application/json"}
    async with client.post(path, data=body, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == "too_deep"


@pytest.mark.parametrize("depth", [32, 5000])
async def test_a_v1_body_nested_too_deep_is_a_400(gateway: GatewayFactory, depth: int) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    status, answer = await call(
        client, "POST", "/v1/notifications", auth, raw=b'{"a": ' + nested(depth) + b"}"
    )
    assert (status, answer["code"]) == (400, "too_deep")


def test_the_depth_check_ignores_brackets_inside_strings_and_stays_linear() -> None:
    check_depth(b'{"a": "' + b"[" * 100 + b'"}')
    check_depth(b'{"a": "\\"' + b"[" * 100 + b'"}')
    check_depth(nested(MAX_DEPTH))
    with pytest.raises(TooDeep):
        check_depth(nested(MAX_DEPTH + 1))
    # An unterminated string full of escapes is read once, not once per quote.
    check_depth(b"[]" * 20 + b'\\"' * 100_000)


async def _raw(server: TestServer, request: bytes) -> tuple[str, bytes]:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


@pytest.fixture
async def logged_server(settings: Settings) -> Any:
    server = TestServer(create_app(settings))
    await server.start_server(access_log_class=AccessLogger)
    yield server
    await server.close()


async def test_a_request_line_too_long_is_json_without_an_echo(
    logged_server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    line = b"GET /v1/registrations/001-354-2419?x=" + b"a" * 9000 + b" HTTP/1.1\r\n"
    head, body = await _raw(logged_server, line + b"Host: x\r\n\r\n")
    assert head.startswith("HTTP/1.0 400") or head.startswith("HTTP/1.1 400")
    assert "application/json" in head
    answer = json.loads(body)
    assert answer["code"] == "line_too_long"
    assert b"354" not in body
    assert b"aaaa" not in body
    text = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records)
    assert "354" not in text
    assert "aaaa" not in text
    assert any(r.name == "aiohttp.access" for r in caplog.records)  # the logger did not raise
    assert not any(r.levelname == "ERROR" for r in caplog.records)


async def test_a_header_too_long_is_json(
    logged_server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n"
    _, body = await _raw(logged_server, request)
    assert json.loads(body)["code"] == "line_too_long"
    assert b"bbbb" not in body
    assert not any(r.levelname == "ERROR" for r in caplog.records)


@pytest.mark.parametrize("encoding", ["br", "zstd", "BR", "compress", "x-unknown"])
async def test_an_unreadable_content_encoding_is_a_json_415(
    logged_server: TestServer, encoding: str
) -> None:
    request = (
        b"POST /v1/notifications HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Encoding: " + encoding.encode() + b"\r\nContent-Length: 2\r\n\r\n{}"
    )
    head, body = await _raw(logged_server, request)
    assert " 415 " in head.splitlines()[0]
    assert json.loads(body)["code"] == "unsupported_encoding"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
async def test_the_bearer_scheme_is_case_insensitive(gateway: GatewayFactory, scheme: str) -> None:
    client = await gateway()
    auth = await bearer(client, "records")
    key = auth["Authorization"].split(" ", 1)[1]
    status, _ = await call(
        client, "GET", "/v1/registrations/0013542419", {"Authorization": f"{scheme} {key}"}
    )
    assert status == 404  # authenticated; no such record


@pytest.mark.parametrize(
    "typed",
    ["001-354-2419", "001.354.2419", "001 354 2419", "001%20354%202419", "۰۰۱-۳۵۴-۲۴۱۹",
     "001-354241-9"],
)  # fmt: skip
def test_a_national_id_in_groups_is_masked(typed: str) -> None:
    assert "354" not in mask_text(f"/v1/registrations/{typed}?x=1")
    assert "۳۵۴" not in mask_text(typed)


@pytest.mark.parametrize(
    "typed",
    ["0912-123-4567", "0912 123 4567", "0912.123.4567", "+98 912 123 4567", "+98-912-123-4567",
     "0098 912 123 4567", "۰۹۱۲ ۱۲۳ ۴۵۶۷"],
)  # fmt: skip
def test_a_mobile_in_groups_is_masked(typed: str) -> None:
    masked = mask_text(f"sent to {typed} today")
    assert "123" not in masked
    assert "۱۲۳" not in masked


def test_time_stamps_and_addresses_are_not_taken_for_numbers() -> None:
    line = "2026-12-05 16:23:47,123 INFO x: from 192.168.100.200, 3 claim(s)"
    assert mask_text(line) == line
