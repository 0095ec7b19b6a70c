"""A fuzz of every HTTP endpoint: arbitrary bytes, wrong content types, huge fields, invalid UTF-8,
deep JSON, duplicated query parameters, with and without a valid API key. Never a 500, never a
crash hidden behind a polite USSD screen: errors are JSON with a `code`, USSD answers are
`CON`/`END` text (or the JSON dialect's object).

The gateway runs in process on a loopback port, driven from hypothesis through one event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import MultiDict

from gateway.api.registry import SCOPES
from gateway.app import create_app
from gateway.appkeys import STORAGE
from gateway.settings import Settings
from gateway.web.auth import new_api_key

ROUTES: list[tuple[str, str]] = [
    ("POST", "/ussd/africastalking"),
    ("POST", "/ussd/json"),
    ("POST", "/ussd/nosuchdialect"),
    ("GET", "/sms/kavenegar/status"),
    ("POST", "/sms/kavenegar/status"),
    ("GET", "/sms/console/status"),
    ("POST", "/sms/console/inbound"),
    ("GET", "/sms/kavenegar/inbound"),
    ("POST", "/sms/kavenegar/inbound"),
    ("POST", "/sms/nosuchprovider/inbound"),
    ("POST", "/v1/notifications"),
    ("GET", "/v1/notifications/123456789012345678"),
    ("GET", "/v1/notifications/{any}"),
    ("PUT", "/v1/registrations/0013542419"),
    ("PUT", "/v1/registrations/{any}"),
    ("GET", "/v1/registrations/{any}"),
    ("PUT", "/v1/loans/12345678"),
    ("PUT", "/v1/loans/{any}"),
    ("GET", "/v1/loans/{any}"),
    ("GET", "/v1/complaints"),
    ("GET", "/v1/complaints/{any}"),
    ("PATCH", "/v1/complaints/{any}"),
    ("POST", "/v1/password-resets/verify"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("DELETE", "/v1/notifications"),
    ("GET", "/nowhere"),
]

FIELD_NAMES = [
    "sessionId", "serviceCode", "phoneNumber", "networkCode", "text", "session_id", "msisdn",
    "service_code", "event", "hop", "from", "to", "message", "messageid", "status", "localid",
    "recipient", "recipients", "template", "params", "lang", "send_at", "priority",
    "callback_url", "national_id", "mobile", "stage", "code", "ticket", "cursor", "limit",
    "bank", "branch", "amount", "password",
]  # fmt: skip

TEXTS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "0", "-1", "1e309", "09121234567", "+989121234567", "۰۹۱۲۱۲۳۴۵۶۷",
                     "0013542419", "1*2*3", "*4455#", "null", "NaN", "1404/08/30 14:00",
                     "activation_code", "new", "end", "\x00", "\ud7ff", "A" * 9000]),
)  # fmt: skip
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXTS)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=6),
    ),
    max_leaves=12,
)


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


BODIES = st.one_of(
    st.none(),
    st.binary(max_size=300),
    st.sampled_from([b"\xff\xfe\xfd", b"\xc3\x28", b"{", b"[]", b"null", b"1" * 5000,
                     b'{"a":' * 50 + b"1" + b"}" * 50, deep(100_000), b"\xef\xbb\xbf{}",
                     b"x" * 300_000, b"NaN", b'{"hop": 1e999}']),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(FIELD_NAMES), TEXTS, max_size=8).map(
        lambda d: json.dumps(d, ensure_ascii=False).encode()
    ),
    st.lists(st.tuples(st.sampled_from(FIELD_NAMES), TEXTS), max_size=8).map(
        lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
    ),
)  # fmt: skip
CONTENT_TYPES = st.sampled_from(
    [None, "application/json", "application/x-www-form-urlencoded", "text/plain",
     "multipart/form-data; boundary=xyz", "multipart/form-data",
     "application/json; charset=latin-1", "application/xml", "image/png",
     "application/x-www-form-urlencoded; charset=utf-16", "*/*"]
)  # fmt: skip
# A request line over 8,190 bytes is refused by aiohttp's HTTP parser before the application sees
# it (400, plain text): queries stay short, bodies carry the huge values. A character may take
# nine bytes once percent-encoded, so six values of under 100 characters stay well inside it.
SHORT = TEXTS.filter(lambda t: len(t) < 100)
QUERIES = st.lists(st.tuples(st.sampled_from(FIELD_NAMES), SHORT), max_size=6)


@dataclass
class Fuzz:
    runner: asyncio.Runner
    client: TestClient[Any, Any]
    key: str
    weak_key: str
    tried: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    errors: list[logging.LogRecord] = field(default_factory=list)


class _Errors(logging.Handler):
    def __init__(self, sink: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)


async def _open(cfg: Settings) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(cfg)))
    await client.start_server()
    return client


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    db: Path = tmp_path_factory.mktemp("fuzz") / "gateway.db"
    cfg = Settings(
        db=db,
        dispatcher_enabled=False,
        sms_provider="kavenegar",
        sms_fallback="smsir",
        kavenegar_api_key="k" * 20,
        kavenegar_base_url="http://127.0.0.1:9",
        smsir_api_key="s" * 20,
        smsir_sender="30004505",
        smsir_base_url="http://127.0.0.1:9",
        _env_file=None,
    )
    runner = asyncio.Runner()
    client = runner.run(_open(cfg))
    key, record = new_api_key("fuzz", frozenset(SCOPES), 0.0)
    weak, weak_record = new_api_key("weak", frozenset({"complaints"}), 0.0)
    runner.run(client.app[STORAGE].add_api_key(record))
    runner.run(client.app[STORAGE].add_api_key(weak_record))
    state = Fuzz(runner, client, key, weak)
    handler = _Errors(state.errors)
    watched = [logging.getLogger(name) for name in ("gateway", "dargah")]
    for logger in watched:
        logger.addHandler(handler)
    try:
        yield state
    finally:
        for logger in watched:
            logger.removeHandler(handler)
        runner.run(client.close())
        runner.close()
        print(
            f"\nhostile http: {state.tried} requests, by status {sorted(state.by_status.items())}"
        )


async def _request(
    fuzz: Fuzz,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes | None,
) -> tuple[int, str, bytes]:
    async with fuzz.client.request(
        method, path, params=MultiDict(query), headers=headers, data=body,
        skip_auto_headers=("Content-Type",),
    ) as resp:  # fmt: skip
        return resp.status, resp.content_type, await resp.read()


def printable(text: str) -> str:
    """What a client can put in a header at all (aiohttp refuses control characters)."""
    return "".join(c for c in text[:40] if 32 < ord(c) < 127)


def check(fuzz: Fuzz, method: str, path: str, status: int, ctype: str, raw: bytes) -> None:
    fuzz.tried += 1
    fuzz.by_status[status] = fuzz.by_status.get(status, 0) + 1
    where = f"{method} {path} -> {status}"
    assert status < 500 or (path == "/readyz" and status == 503), where
    assert not fuzz.errors, [r.getMessage() for r in fuzz.errors]
    if status >= 400:
        assert ctype == "application/json", where
        body = json.loads(raw)
        assert isinstance(body.get("code"), str), where
        assert body["code"], where
        return
    if path == "/ussd/africastalking":
        assert ctype == "text/plain", where
        assert raw.decode().startswith(("CON ", "END ")), (where, raw[:80])
    elif path == "/ussd/json":
        body = json.loads(raw)
        assert isinstance(body["text"], str), where
        assert isinstance(body["end"], bool), where


@settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    route=st.sampled_from(ROUTES),
    any_part=st.one_of(SHORT, st.just("%ff%fe"), st.just("..%2f..%2f")),
    query=QUERIES,
    body=BODIES,
    ctype=CONTENT_TYPES,
    auth=st.sampled_from(["none", "valid", "weak", "garbage", "basic"]),
)
def test_no_endpoint_answers_500_to_anything(
    fuzz: Fuzz,
    route: tuple[str, str],
    any_part: str,
    query: list[tuple[str, str]],
    body: bytes | None,
    ctype: str | None,
    auth: str,
) -> None:
    method, template = route
    part = "".join(c for c in any_part if c.isprintable() and c not in "/?#") or "x"
    path = template.replace("{any}", part)
    headers = {}
    if ctype is not None:
        headers["Content-Type"] = ctype
    token = {"valid": fuzz.key, "weak": fuzz.weak_key, "garbage": "dgk_" + printable(part)}.get(
        auth
    )
    if auth == "basic":
        headers["Authorization"] = "Basic Zm9vOmJhcg=="
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    sent = body if method != "GET" else None
    status, content_type, raw = fuzz.runner.run(_request(fuzz, method, path, query, headers, sent))
    check(fuzz, method, template, status, content_type, raw)


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    fields=st.dictionaries(
        st.sampled_from(["sessionId", "serviceCode", "phoneNumber", "networkCode", "text"]),
        TEXTS,
    ),
    repeat=st.sampled_from(["", "text", "phoneNumber", "sessionId"]),
    in_query=st.booleans(),
)
def test_africastalking_form_fields_of_any_shape(
    fuzz: Fuzz, fields: dict[str, str], repeat: str, in_query: bool
) -> None:
    base = {"sessionId": "fz-1", "serviceCode": "*4455#", "phoneNumber": "09121234567", "text": ""}
    merged = {**base, **fields}
    pairs = list(merged.items()) + ([(repeat, merged.get(repeat, "9"))] if repeat else [])
    encoded = "&".join(f"{k}={v}" for k, v in pairs).encode("utf-8", "surrogatepass")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    query = [(k, v[:100]) for k, v in pairs] if in_query else []
    status, ctype, raw = fuzz.runner.run(
        _request(
            fuzz, "POST", "/ussd/africastalking", query, headers, None if in_query else encoded
        )
    )
    check(fuzz, "POST", "/ussd/africastalking", status, ctype, raw)


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "session_id": st.one_of(TEXTS, JSON_VALUES),
            "msisdn": st.one_of(TEXTS, JSON_VALUES),
            "service_code": st.one_of(TEXTS, JSON_VALUES),
            "text": st.one_of(TEXTS, JSON_VALUES),
            "event": st.one_of(st.sampled_from(["new", "continue", "end"]), JSON_VALUES),
            "hop": st.one_of(st.integers(-5, 10_005), st.integers(), JSON_VALUES),
        },
    )
)
def test_json_dialect_of_any_shape(fuzz: Fuzz, body: dict[str, Any]) -> None:
    raw_body = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    headers = {"Content-Type": "application/json"}
    status, ctype, raw = fuzz.runner.run(
        _request(fuzz, "POST", "/ussd/json", [], headers, raw_body)
    )
    check(fuzz, "POST", "/ussd/json", status, ctype, raw)
