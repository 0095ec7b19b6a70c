"""Table-driven tests over recorded raw callbacks, one table per dialect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GatewayFactory

RECORDED = Path(__file__).parent / "recorded" / "ussd"


def _cases(dialect: str) -> list[Any]:
    data = json.loads((RECORDED / f"{dialect}.json").read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["name"]) for case in data["cases"]]


@pytest.mark.parametrize("case", _cases("africastalking"))
async def test_africastalking_recorded(gateway: GatewayFactory, case: dict[str, Any]) -> None:
    client = await gateway()
    resp = await client.post(
        "/ussd/africastalking",
        data=case["body"].encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == case["status"]
    if resp.status == 200:
        text = await resp.text()
        assert resp.content_type == "text/plain"
        assert text.startswith(case["starts"])
        for fragment in case["contains"]:
            assert fragment in text
    else:
        body = await resp.json()
        assert body["code"] == case["code"]
        assert body["fields"] == case["fields"]


@pytest.mark.parametrize("case", _cases("json"))
async def test_json_recorded(gateway: GatewayFactory, case: dict[str, Any]) -> None:
    client = await gateway()
    resp = await client.post(
        "/ussd/json", data=case["body"].encode(), headers={"Content-Type": "application/json"}
    )
    assert resp.status == case["status"]
    body = await resp.json()
    if resp.status == 200:
        assert body["end"] is case["end"]
        for fragment in case["contains"]:
            assert fragment in body["text"]
    else:
        assert body["code"] == case["code"]
        assert body["fields"] == case["fields"]


async def test_json_retry_of_the_same_hop_changes_nothing(gateway: GatewayFactory) -> None:
    client = await gateway()
    base = {"session_id": "j-r", "msisdn": "09121234567"}
    await client.post("/ussd/json", json={**base, "event": "new", "hop": 0})
    first = await (await client.post("/ussd/json", json={**base, "text": "9", "hop": 1})).json()
    again = await (await client.post("/ussd/json", json={**base, "text": "9", "hop": 1})).json()
    assert first == again
    assert "1 Registration status" in first["text"]  # switched once, not toggled back
    nxt = await (await client.post("/ussd/json", json={**base, "text": "9", "hop": 2})).json()
    assert "۱ پیگیری ثبت‌نام" in nxt["text"]


async def test_unknown_dialect_is_404_with_code(gateway: GatewayFactory) -> None:
    client = await gateway()
    resp = await client.post("/ussd/nokia", data={"a": "b"})
    assert resp.status == 404
    assert (await resp.json())["code"] == "unknown_dialect"


async def test_wrong_method_is_json_405(gateway: GatewayFactory) -> None:
    client = await gateway()
    resp = await client.get("/ussd/africastalking")
    assert resp.status == 405
    assert (await resp.json())["code"] == "method_not_allowed"
