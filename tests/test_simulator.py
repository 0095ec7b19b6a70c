"""`/` and `/simulator`: the web phone walks the menus through the JSON dialect, and its inbox shows
the console provider's texts in full, sealed at rest, only where the console provider sends and
only to a caller on this machine or with the simulator enabled; anyone else gets a 404."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.appkeys import DISPATCHER
from providers.base import OutgoingSms
from providers.console import ConsoleProvider, Inbox
from tests.api_helpers import bearer, call, deps, storage
from tests.conftest import FakeClock, GatewayFactory
from tests.seed import NID, add_registration

Client = TestClient[Any, Any]
FORWARDED = {"X-Forwarded-For": "203.0.113.9"}  # what a reverse proxy adds for a remote caller
ME, OTHER_ME = "09121234567", "09351234567"
SECRET = re.compile(r"کد رهگیری (\d{8}) رمز ([A-Za-z0-9]+) تخصیص")


class WebPhone:
    def __init__(self, client: Client, msisdn: str = "09121234567") -> None:
        self.client = client
        self.msisdn = msisdn
        self.hop = 0
        self.session = "web-1"

    async def _post(self, text: str, event: str) -> dict[str, Any]:
        body = {"session_id": self.session, "msisdn": self.msisdn, "service_code": "*4455#",
                "text": text, "event": event, "hop": self.hop}  # fmt: skip
        resp = await self.client.post("/simulator/ussd", json=body)
        assert resp.status == 200, await resp.text()
        data: dict[str, Any] = await resp.json()
        return data

    async def dial(self, session: str) -> dict[str, Any]:
        self.session, self.hop = session, 0
        return await self._post("", "new")

    async def send(self, text: str) -> dict[str, Any]:
        self.hop += 1
        return await self._post(text, "continue")

    async def drop(self) -> None:
        self.hop += 1
        await self._post("", "end")


async def _inbox(client: Client, msisdn: str = "09121234567") -> list[dict[str, str]]:
    resp = await client.get("/simulator/inbox", params={"msisdn": msisdn})
    assert resp.status == 200, await resp.text()
    messages: list[dict[str, str]] = (await resp.json())["messages"]
    return messages


async def test_a_whole_password_reset_on_the_web_phone(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_registration(client, status="activated")
    phone = WebPhone(client)
    home = await phone.dial("web-a")
    assert not home["end"]
    assert "۲" in home["text"] or "2" in home["text"]
    await phone.send("2")
    done = await phone.send("۰۰۱۳۵۴۲۴۱۹")  # Persian digits, as a phone keyboard types them
    assert done["end"], done
    assert await _inbox(client) == []  # nothing delivered before the dispatcher sends it
    await client.app[DISPATCHER].run_once()

    [match] = [m for m in map(SECRET.search, (x["text"] for x in await _inbox(client))) if m]
    password = match.group(2)
    headers = await bearer(client, "resets")
    status, body = await call(client, "POST", "/v1/password-resets/verify", headers,
                              {"national_id": NID, "password": password})  # fmt: skip
    assert (status, body) == (200, {"valid": True})

    # The outbox masks the sent text; the inbox keeps it sealed, never in clear.
    [row] = [r for r in await storage(client).outbox_messages(ME) if r["otp"] or r["priority"] == 0]
    assert row["status"] == "sent"
    assert password not in row["body"]
    assert row["sealed"] is None
    raw = await _raw_inbox(client)
    assert raw
    assert all(password.encode() not in bytes(r) for r in raw)


async def _raw_inbox(client: Client) -> list[bytes]:
    store: Any = storage(client)
    async with store.db.reading() as tx:
        rows = await tx.fetch("SELECT sealed FROM console_inbox")
    return [bytes(r[0]) for r in rows]


async def test_a_dropped_call_is_offered_to_resume(gateway: GatewayFactory) -> None:
    client = await gateway()
    phone = WebPhone(client)
    home = await phone.dial("web-b")
    menu = await phone.send("2")
    await phone.drop()
    again = await phone.dial("web-c")
    assert again["text"] != home["text"]
    assert not again["end"]
    resumed = await phone.send("1")
    assert resumed["text"] == menu["text"]


async def test_the_inbox_is_newest_first_and_kept_a_day(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    sealer = deps(client).sealer
    assert sealer is not None
    console = ConsoleProvider(Inbox(storage(client), sealer, clock))
    await console.send([OutgoingSms("a", ME, "اول"), OutgoingSms("b", OTHER_ME, "دیگری")])
    clock.advance(60)
    await console.send([OutgoingSms("c", ME, "دوم"), OutgoingSms("a", ME, "اول")])  # a resend
    assert [m["text"] for m in await _inbox(client)] == ["دوم", "اول"]
    clock.advance(Inbox.KEEP_S)
    await console.send([OutgoingSms("d", ME, "سوم")])
    assert [m["text"] for m in await _inbox(client)] == ["سوم", "دوم"]  # "اول" was a day old
    assert await _inbox(client, OTHER_ME) == []


async def test_inbox_refuses_what_is_not_a_number(gateway: GatewayFactory) -> None:
    client = await gateway()
    for bad in ("", "abc", "0912", "۰۹۱۲" * 20):
        resp = await client.get("/simulator/inbox", params={"msisdn": bad})
        assert resp.status == 400
        assert (await resp.json())["code"] == "invalid_msisdn"
    assert await _inbox(client, "۰۹۱۲۱۲۳۴۵۶۷") == []


async def test_hidden_from_a_caller_not_on_this_machine(gateway: GatewayFactory) -> None:
    client = await gateway()
    for method, path in (("GET", "/simulator"), ("POST", "/simulator/ussd"),
                         ("GET", "/simulator/inbox?msisdn=09121234567")):  # fmt: skip
        resp = await client.request(method, path, headers=FORWARDED, json={})
        assert resp.status == 404, path
        assert (await resp.json())["code"] == "not_found"
    home = await (await client.get("/", headers=FORWARDED)).text()
    assert "/simulator" not in home
    assert "/simulator" in await (await client.get("/")).text()


async def test_shown_anywhere_when_enabled(gateway: GatewayFactory) -> None:
    client = await gateway(simulator_enabled=True)
    resp = await client.get("/simulator", headers=FORWARDED)
    assert resp.status == 200


async def test_hidden_where_the_console_provider_does_not_send(gateway: GatewayFactory) -> None:
    client = await gateway(
        sms_provider="kavenegar", kavenegar_api_key="k" * 20, simulator_enabled=True
    )
    for path in ("/simulator", "/simulator/inbox?msisdn=09121234567"):
        assert (await client.get(path)).status == 404
    assert "/simulator" not in await (await client.get("/")).text()


async def test_pages_keep_the_strict_policy_and_speak_persian_first(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    for path in ("/", "/simulator"):
        resp = await client.get(path)
        html = await resp.text()
        assert resp.status == 200
        assert '<html lang="fa" dir="rtl">' in html
        policy = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "<script>" not in html
        assert "style=" not in html
        assert "http" not in html  # nothing from elsewhere
        assert resp.headers["X-Frame-Options"] == "DENY"
        english = await (await client.get(path, params={"lang": "en"})).text()
        assert '<html lang="en" dir="ltr">' in english
    for name in ("site.css", "simulator.js"):
        resp = await client.get(f"/static/{name}")
        assert resp.status == 200
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert (await client.get("/static/../settings.py")).status == 404
