"""Every dialect's recorded callbacks through the real route, one table: each case asserts the hop
the dialect parsed (event, caller, new input) and the exact reply the operator receives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from channels.models import Dialect
from channels.registry import DIALECTS
from sessions.hop import UssdHop, UssdReply
from tests.conftest import GatewayFactory

RECORDED = Path(__file__).parent / "recorded" / "ussd"
CONTENT_TYPES = {
    "africastalking": "application/x-www-form-urlencoded",
    "json": "application/json",
    "hubtel": "application/json",
    "nalo": "application/json",
}


def load_cases() -> list[Any]:
    cases = []
    for dialect in CONTENT_TYPES:
        data = json.loads((RECORDED / f"{dialect}.json").read_text(encoding="utf-8"))
        for case in data["cases"]:
            cases.append(pytest.param(dialect, case, id=f"{dialect}: {case['name']}"))
    return cases


class Recording:
    """The real dialect, remembering the hop it parsed."""

    def __init__(self, inner: Dialect) -> None:
        self.inner = inner
        self.hops: list[UssdHop] = []

    async def parse(self, request: web.Request) -> UssdHop:
        hop = await self.inner.parse(request)
        self.hops.append(hop)
        return hop

    def render(self, reply: UssdReply, hop: UssdHop) -> web.Response:
        return self.inner.render(reply, hop)


def parsed(hop: UssdHop) -> dict[str, str]:
    return {"event": hop.event.value, "msisdn": hop.msisdn, "text": hop.text}


async def exchange(
    gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch, dialect: str, body: str
) -> tuple[dict[str, str] | None, dict[str, Any]]:
    recording = Recording(DIALECTS[dialect])
    monkeypatch.setitem(DIALECTS, dialect, recording)
    client = await gateway()
    resp = await client.post(
        f"/ussd/{dialect}", data=body.encode(), headers={"Content-Type": CONTENT_TYPES[dialect]}
    )
    reply = {"status": resp.status, "type": resp.content_type, "body": await resp.text()}
    assert len(recording.hops) <= 1
    return (parsed(recording.hops[0]) if recording.hops else None), reply


@pytest.mark.parametrize(("dialect", "case"), load_cases())
async def test_recorded_callback(
    gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch, dialect: str, case: dict[str, Any]
) -> None:
    hop, reply = await exchange(gateway, monkeypatch, dialect, case["body"])
    assert hop == case["hop"]
    assert reply == case["reply"]
