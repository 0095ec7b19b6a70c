"""The OpenAPI document matches the routes served, the docs page works offline, and a
schema-driven run (schemathesis) against a real gateway process finds no 500 and no answer
that breaks the spec."""

from __future__ import annotations

import inspect
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from channels.registry import DIALECTS
from gateway.api.openapi import OPERATIONS, build_document, errors_of
from gateway.api.registry import RESOURCES, SCOPES
from gateway.routes.home import STATIC
from tests.conftest import GatewayFactory

ROOT = Path(__file__).resolve().parent.parent
# The pages for people (gateway/routes/home.py, simulator.py), not for other systems.
UNDOCUMENTED = {
    "/openapi.json",
    "/docs",
    "/docs.js",
    "/docs.css",
    "/",
    "/simulator",
    "/simulator/ussd",
    "/simulator/inbox",
    *(f"/static/{name}" for name in STATIC),
}


def _page(path: str) -> bool:
    return path in UNDOCUMENTED or path == "/ops" or path.startswith("/ops/")


async def test_every_served_route_is_documented_and_nothing_else(gateway: GatewayFactory) -> None:
    client = await gateway()
    served = set()
    for route in client.app.router.routes():
        # HEAD rides on GET; the one route of any method is the fallback's 404/405 (gateway/edge.py)
        if route.method in ("HEAD", "*") or route.resource is None:
            continue
        path = route.resource.canonical
        # one USSD route serves every dialect; the document describes each dialect's format
        paths = [f"/ussd/{d}" for d in DIALECTS] if path == "/ussd/{dialect}" else [path]
        served |= {(route.method.lower(), p) for p in paths if not _page(p)}
    documented = {(op.method, op.path) for op in OPERATIONS}
    assert served == documented


async def test_openapi_json_and_docs_page(gateway: GatewayFactory) -> None:
    client = await gateway()
    resp = await client.get("/openapi.json")
    spec = await resp.json()
    assert spec["openapi"].startswith("3.1")
    assert spec == build_document()
    schemas = spec["components"]["schemas"]
    assert {
        "RegistrationIn",
        "NotificationRequest",
        "AfricasTalkingForm",
        "JsonUssdRequest",
    } <= set(schemas)
    page = await client.get("/docs")
    html = await page.text()
    assert page.status == 200
    assert '<script src="/docs.js">' in html
    assert "http" not in html.replace("http-equiv", "")  # nothing fetched from the internet
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    script = await client.get("/docs.js")
    assert 'fetch("/openapi.json")' in await script.text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real gateway process on a free loopback port, and an API key with every scope."""
    db = tmp_path_factory.mktemp("live") / "gateway.db"
    port = _free_port()
    env = {
        **os.environ,
        "GATEWAY_DB": str(db),
        "GATEWAY_PORT": str(port),
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    made = subprocess.run(
        [sys.executable, "run.py", "create-api-key", "fuzz", "--scopes", ",".join(SCOPES)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    key = made.stdout.strip().splitlines()[-1].split()[-1]
    proc = subprocess.Popen([sys.executable, "run.py", "serve"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.1)
        yield base, key
    finally:
        proc.terminate()
        proc.wait(timeout=10)


CHECKS = ",".join(
    ("not_a_server_error", "status_code_conformance", "content_type_conformance",
     "response_schema_conformance")
)  # fmt: skip


def test_schemathesis_finds_no_500_and_no_answer_outside_the_spec(
    live_gateway: tuple[str, str],
) -> None:
    base, key = live_gateway
    # One worker thread: Hypothesis parses lambdas' source with `ast` while it runs, and two
    # threads doing that on Python 3.11 now and then raise "AST constructor recursion depth
    # mismatch" (CPython gh-106905), a runtime error that fails the run for nothing.
    done = subprocess.run(
        [str(Path(sys.executable).parent / "st"), "run", f"{base}/openapi.json",
         "-H", f"Authorization: Bearer {key}", "-c", CHECKS, "--max-examples", "20",
         "--phases", "examples,coverage,fuzzing", "-w", "1", "--seed", "4455", "--no-color"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    summary = done.stdout[-3000:]
    assert done.returncode == 0, summary
    assert " passed" in summary
    assert "failed" not in summary.split("Test cases:")[-1]


def _media(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every (where, schema, example) of the document: request bodies, answers, error codes."""
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            for media in op.get("requestBody", {}).get("content", {}).values():
                yield f"{where} request", media["schema"], media["example"]
            for status, answer in op["responses"].items():
                for media in answer.get("content", {}).values():
                    if "example" in media:
                        yield f"{where} {status}", media["schema"], media["example"]
                    for code, named in media.get("examples", {}).items():
                        yield f"{where} {status} {code}", media["schema"], named["value"]


def test_the_document_passes_openapi_spec_validator() -> None:
    document = build_document()
    validate(document)  # raises on the first error
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []
    assert document["servers"] == [{"url": "/", "description": "this gateway"}]


def test_every_operation_has_examples_and_its_errors_by_code() -> None:
    document = build_document()
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            if "requestBody" in op:
                assert all("example" in m for m in op["requestBody"]["content"].values()), path
            ok = next(r for s, r in op["responses"].items() if s.startswith("2"))
            assert all("example" in m for m in ok["content"].values()), (method, path)
            errors = [s for s in op["responses"] if s.startswith("4")]
            if path.startswith(("/v1/", "/ussd/", "/sms/")):
                assert errors, (method, path)
            for status in errors:
                examples = op["responses"][status]["content"]["application/json"]["examples"]
                assert all(e["value"]["code"] == code for code, e in examples.items())


def test_every_example_is_valid_against_its_schema() -> None:
    document = build_document()
    registry: Registry[Any] = Registry().with_resource(
        "urn:dargah", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    checked = 0
    for where, schema, value in _media(document):
        resolved = json.loads(
            json.dumps(schema).replace('"#/components', '"urn:dargah#/components')
        )
        problems = [
            e.message for e in Draft202012Validator(resolved, registry=registry).iter_errors(value)
        ]
        assert problems == [], where
        checked += 1
    assert checked > 100


_RAISED = re.compile(r"ApiError\(\s*(4\d\d),\s*\"([a-z_]+)\"")


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.__name__.rsplit(".", 1)[-1])
def test_every_error_code_a_resource_raises_is_documented(resource: ModuleType) -> None:
    """Each `ApiError(4xx, "code")` written in a resource's module is declared on one of its
    operations under that status, and so are the domain validators' codes of its fields."""
    source = Path(inspect.getfile(resource)).read_text(encoding="utf-8")
    raised = set(_RAISED.findall(source))
    declared = {
        (str(status), code)
        for op in resource.OPERATIONS
        for status, codes in errors_of(op).items()
        for code in codes
    }
    assert raised, resource.__name__
    assert raised <= declared
