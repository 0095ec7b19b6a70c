"""Walks through each dialect: retries of a hop, ends, unknown dialects and methods (the recorded
callbacks are one table in test_dialect_table.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import GatewayFactory

RECORDED = Path(__file__).parent / "recorded" / "ussd"
JSON_TYPE = {"Content-Type": "application/json"}


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


async def test_hubtel_walk_with_a_retried_sequence(gateway: GatewayFactory) -> None:
    client = await gateway()
    base = {"Mobile": "989121234567", "SessionId": "h-walk", "ServiceCode": "*4455#"}

    async def hop(kind: str, message: str, seq: int) -> dict[str, Any]:
        body = {**base, "Type": kind, "Message": message, "Sequence": seq}
        answer: dict[str, Any] = await (await client.post("/ussd/hubtel", json=body)).json()
        return answer

    await hop("Initiation", "*4455#", 1)
    menu = await hop("Response", "3", 2)
    assert "۱ با کد رهگیری" in menu["Message"]
    assert await hop("Response", "3", 2) == menu  # the operator's retry: same screen
    prompt = await hop("Response", "1", 3)
    assert "کد رهگیری تسهیلات" in prompt["Message"]
    assert (await hop("Response", "00", 4))["Message"].startswith("۱ پیگیری ثبت‌نام")


async def test_nalo_walk_to_an_end_screen(gateway: GatewayFactory) -> None:
    client = await gateway()
    base = {"USERID": "U1", "MSISDN": "989121234567", "SESSIONID": "n-walk"}
    first = await client.post("/ussd/nalo", json={**base, "USERDATA": "*4455#", "MSGTYPE": True})
    assert (await first.json())["MSGTYPE"] is True
    await client.post("/ussd/nalo", json={**base, "USERDATA": "4", "MSGTYPE": False})
    await client.post("/ussd/nalo", json={**base, "USERDATA": "3", "MSGTYPE": False})
    await client.post("/ussd/nalo", json={**base, "USERDATA": "1", "MSGTYPE": False})
    await client.post("/ussd/nalo", json={**base, "USERDATA": "1", "MSGTYPE": False})
    done = await (
        await client.post("/ussd/nalo", json={**base, "USERDATA": "1", "MSGTYPE": False})
    ).json()
    assert done["MSGTYPE"] is False
    assert "ثبت شد" in done["MSG"]
