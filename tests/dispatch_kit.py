"""Helpers for the dispatcher tests: fake providers on real sockets, a gateway wired to them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from gateway.appkeys import CLOCK, DEPS, DISPATCHER, STORAGE
from gateway.web.auth import new_api_key
from providers.dispatcher import Dispatcher
from sessions.records import OutboundSms
from sessions.services.deps import make_sms
from tests.fakes.kavenegar import FakeKavenegar
from tests.fakes.smsir import FakeSmsIr

ME = "09121234567"
OTHER = "09351112233"
Client = TestClient[Any, Any]
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]

# Short enough for quick tests; the in-process retries wait a few milliseconds.
FAST: dict[str, Any] = {
    "retry_base_s": 0.001,
    "retry_cap_s": 0.005,
    "provider_timeout_s": 0.5,
    "provider_rate_per_s": 1000.0,
    "dispatch_lease_s": 30.0,
    "status_poll_after_s": 600.0,
}


@dataclass
class Fakes:
    kave: FakeKavenegar
    smsir: FakeSmsIr
    kave_url: str
    smsir_url: str

    def settings(self, provider: str = "kavenegar", **overrides: Any) -> dict[str, Any]:
        """Overrides for the `gateway` fixture: both providers point at the fakes."""
        return {
            "sms_provider": provider,
            "kavenegar_api_key": SecretStr(self.kave.api_key),
            "kavenegar_sender": "10004346",
            "kavenegar_base_url": self.kave_url,
            "smsir_api_key": SecretStr(self.smsir.api_key),
            "smsir_sender": "30004505",
            "smsir_base_url": self.smsir_url,
            **FAST,
            **overrides,
        }


async def start_fakes(
    aiohttp_server: ServerFactory, clock: Callable[[], float] | None = None
) -> Fakes:
    """Both fakes on loopback ports, keeping time with `clock` (the gateway's, in most tests)."""
    kave, smsir = FakeKavenegar(), FakeSmsIr()
    if clock is not None:
        kave.clock = smsir.clock = clock
    kave_server = await aiohttp_server(kave.app())
    smsir_server = await aiohttp_server(smsir.app())
    return Fakes(kave, smsir, str(kave_server.make_url("")), str(smsir_server.make_url("")))


async def enqueue(
    client: Client,
    template_id: str = "complaint_received",
    params: dict[str, Any] | None = None,
    recipient: str = ME,
    source: str = "portal",
) -> OutboundSms:
    """A message as the client `source` (the name `bearer` gives its keys) would have asked."""
    sms = replace(
        make_sms(client.app[DEPS], recipient, template_id, params or {"ticket": "1234"}),
        source=source,
    )
    await client.app[STORAGE].enqueue([sms])
    return sms


async def enqueue_raw(
    client: Client, sms_id: str, priority: int, body: str = "hello", recipient: str = ME
) -> None:
    """A message written as is (any priority), due now."""
    now = client.app[CLOCK]()
    await client.app[STORAGE].enqueue(
        [
            OutboundSms(
                sms_id, recipient, "keyword_help", "en", {}, body, priority, now, created_at=now
            )
        ]
    )


def dispatcher(client: Client) -> Dispatcher:
    found: Dispatcher = client.app[DISPATCHER]
    return found


async def row(client: Client, sms_id: str) -> dict[str, Any]:
    rows = [r for r in await client.app[STORAGE].outbox_messages() if r["id"] == sms_id]
    assert len(rows) == 1
    found: dict[str, Any] = rows[0]
    return found


async def bearer(client: Client, *scopes: str) -> dict[str, str]:
    key, record = new_api_key("portal", frozenset(scopes), client.app[CLOCK]())
    await client.app[STORAGE].add_api_key(record)
    return {"Authorization": f"Bearer {key}"}
