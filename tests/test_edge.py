"""The edge without a middleware: every route's answer and every unmatched path's answer carry the
same JSON errors, headers and counts, and the fallback answers what aiohttp's router would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.settings import Settings
from gateway.web import edge
from gateway.web.access import secure
from gateway.web.counters import METRICS
from tests.conftest import GatewayFactory


async def test_a_path_no_route_serves_is_a_json_404_counted_as_unmatched(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    resp = await client.get("/nowhere/0013542419")
    assert resp.status == 404
    assert (await resp.json())["code"] == "not_found"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "Cache-Control" not in resp.headers  # not the API
    text = await (await client.get("/metrics")).text()
    assert 'method="GET",route="unmatched",status="404"} 1' in text
    assert "0013542419" not in text


async def test_an_unserved_api_path_is_not_cached(gateway: GatewayFactory) -> None:
    client = await gateway()
    resp = await client.delete("/v1/elsewhere")
    assert resp.status == 404
    assert resp.headers["Cache-Control"] == "no-store"


async def test_a_served_path_with_another_method_is_405_with_every_allowed_method(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    resp = await client.delete("/v1/complaints/T-1")
    assert resp.status == 405
    assert (await resp.json())["code"] == "method_not_allowed"
    assert set(resp.headers["Allow"].split(",")) == {"GET", "HEAD", "PATCH"}
    resp = await client.post("/healthz")
    assert resp.status == 405
    assert set(resp.headers["Allow"].split(",")) == {"GET", "HEAD"}


async def test_an_oversize_body_to_an_unserved_callback_path_is_413(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    resp = await client.post("/sms/x/y/z", data=b"x" * (20 * 1024))
    assert resp.status == 413
    assert (await resp.json())["code"] == "body_too_large"


async def test_get_routes_answer_head(gateway: GatewayFactory) -> None:
    client = await gateway()
    resp = await client.head("/healthz")
    assert resp.status == 200


def test_every_route_but_the_fallback_is_behind_the_edge_and_the_fallback_is_last() -> None:
    app = create_app(Settings(), background=False)
    resources = list(app.router.resources())
    assert resources[-1].name == "unmatched"
    for resource in resources:
        for route in resource:
            assert route.handler.__name__ in ("at_edge", "unmatched"), resource.canonical


async def test_a_handler_that_raises_answers_json_500(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]], settings: Settings
) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    app = create_app(settings, background=False)
    edge.add(app, "GET", "/v1/broken", broken)
    client = await aiohttp_client(app)
    resp = await client.get("/v1/broken")
    assert resp.status == 500
    assert (await resp.json())["code"] == "internal_error"
    assert resp.headers["Cache-Control"] == "no-store"


def test_html_is_told_by_its_media_type_in_any_case() -> None:
    for value, html in (("TEXT/Html; charset=utf-8", True), ("text/html-fragment", False)):
        response = web.Response(body=b"x", headers={"Content-Type": value})
        secure(response, api=False)
        assert ("Content-Security-Policy" in response.headers) is html, value


async def test_a_route_is_counted_under_its_pattern_as_aiohttp_writes_it(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]], settings: Settings
) -> None:
    async def one(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = create_app(settings, background=False)
    edge.add(app, "GET", r"/v1/things/{id:\d+}", one)
    client = await aiohttp_client(app)
    assert (await client.get("/v1/things/12")).status == 200
    assert app[METRICS].requests[("GET", "/v1/things/{id}", 200)] == 1
