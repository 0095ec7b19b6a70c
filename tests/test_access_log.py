"""The access log names the route, not the path as typed: no number written with separators
reaches it."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.settings import Settings
from gateway.web.logs import AccessLogger
from tests.api_helpers import bearer, call

NID = "0013542419"
TYPED = ["001-354-2419", "001%20354%202419", "0013 5424 19", "۰۰۱-۳۵۴-۲۴۱۹"]


async def test_numbers_typed_with_separators_never_reach_the_access_log(
    aiohttp_client: Any, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    server = TestServer(create_app(settings))
    await server.start_server(access_log_class=AccessLogger)
    client = await aiohttp_client(server)
    caplog.set_level("INFO", logger="aiohttp.access")
    auth = await bearer(client, "records")
    person = {"mobile": "0912-123-4567", "status": "activated"}
    status, _ = await call(client, "PUT", "/v1/registrations/001-354-2419", auth, person)
    assert status == 201
    for typed in TYPED:
        assert (await call(client, "GET", f"/v1/registrations/{typed}", auth))[0] == 200
    # Matching no route: the path is logged, with the digit runs hidden.
    async with client.get("/v1/nowhere/001-354-2419/0912 123 4567") as resp:
        assert resp.status == 404

    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    paths = [line.rsplit(" ", 2)[0] for line in lines]  # without the status and the time
    assert "PUT /v1/registrations/{national_id}" in paths
    assert paths.count("GET /v1/registrations/{national_id}") == len(TYPED)
    assert any(p.startswith("GET /v1/nowhere/") for p in paths), paths
    digits = {c for p in paths for c in p if c.isdigit()}
    assert digits <= {"1"}, paths  # only the `1` of `/v1/`
