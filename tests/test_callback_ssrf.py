"""`callback_url` reaches only where the operator allows: https to public addresses, plain http
and private addresses only for hosts in GATEWAY_CALLBACK_HOSTS, the address checked again at
connect time, no redirect followed; each callback signed with the client's secret."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.appkeys import DEPS, DISPATCHER
from gateway.jobs.callbacks import deliver_due
from gateway.web import outbound, signing
from tests.api_helpers import Client, bearer, call, sms, storage
from tests.conftest import FakeClock, GatewayFactory
from tests.test_api_keys_cli import any_file_holds, cli, create_key

ACTIVATION = {"recipient": "09121234567", "template": "activation_code", "params": {"code": "4829"}}


def resolving(table: dict[str, str]) -> outbound.Lookup:
    async def lookup(host: str, port: int) -> list[outbound.IpAddress]:
        if host not in table:
            raise OSError("no such host")
        return [ip_address(table[host])]

    return lookup


@pytest.fixture(autouse=True)
def _dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names resolve from a table: the tests never ask a real DNS server."""
    monkeypatch.setattr(
        outbound,
        "system_lookup",
        resolving({"hooks.example.com": "93.184.216.34", "inside.example.com": "10.1.2.3",
                   "localhost": "127.0.0.1", "metadata.example.com": "169.254.169.254"}),
    )  # fmt: skip


REFUSED = [
    # The forged inbound SMS of the report: plain http to the gateway's own callback.
    "http://127.0.0.1:8080/sms/kavenegar/inbound?from=09121234567&message=RESET%201&messageid=X",
    "https://127.0.0.1:8080/sms/kavenegar/status?messageid=1&status=10",
    "https://localhost/hook",
    "https://10.0.0.5/hook",
    "https://192.168.1.1/hook",
    "https://172.16.0.1/hook",
    "https://100.64.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fe80::1]/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:a00:1]/hook",
    "https://2130706433/hook",
    "https://0x7f000001/hook",
    "https://0177.0.0.1/hook",
    "https://127.1/hook",
    "https://0.0.0.0/hook",
    "https://inside.example.com/hook",
    "https://metadata.example.com/hook",
    "https://nowhere.example.com/hook",
    "http://hooks.example.com/hook",
    "https://user:pass@hooks.example.com/hook",
    "ftp://hooks.example.com/hook",
    "/relative/hook",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_a_callback_url_not_allowed_is_refused_naming_the_field(
    gateway: GatewayFactory, url: str
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    status, answer = await call(
        client, "POST", "/v1/notifications", auth, {**ACTIVATION, "callback_url": url}
    )
    assert (status, answer["code"], answer["field"]) == (
        400,
        "callback_url_refused",
        "callback_url",
    )
    assert await sms(client) == []  # nothing written


async def test_a_public_https_url_and_a_listed_host_are_accepted(gateway: GatewayFactory) -> None:
    client = await gateway(callback_hosts="inside.example.com, 10.0.0.5")
    auth = await bearer(client, "notify")
    for url in ("https://hooks.example.com/hook", "http://inside.example.com:8080/hook",
                "https://10.0.0.5/hook"):  # fmt: skip
        body = {**ACTIVATION, "recipient": f"0912123456{len(url) % 10}", "callback_url": url}
        status, answer = await call(client, "POST", "/v1/notifications", auth, body)
        assert status == 202, (url, answer)


class Hook:
    """A receiver on loopback: records what reached it; `/redirect` sends the caller elsewhere."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append((request.path, dict(request.headers), await request.read()))
        if request.path == "/redirect":
            raise web.HTTPTemporaryRedirect("/internal")
        return web.Response(text="ok")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


async def test_dns_rebinding_is_refused_at_connect_time() -> None:
    hook = Hook()
    async with TestServer(hook.app()) as server:
        url = f"http://rebind.example.com:{server.port}/hook"
        # Public when the URL was accepted; loopback when the call is made.
        lookup = resolving({"rebind.example.com": "127.0.0.1"})
        async with outbound.guarded_session([], lookup) as http:
            with pytest.raises(aiohttp.ClientConnectorError):
                await http.post(url, data=b"{}")
        assert hook.hits == []
        # The same address for a host the operator listed: called.
        async with (
            outbound.guarded_session(["rebind.example.com"], lookup) as http,
            http.post(url, data=b"{}") as resp,
        ):
            assert resp.status == 200
        assert [h[0] for h in hook.hits] == ["/hook"]


async def _final(client: Client, clock: FakeClock, url: str) -> str:
    auth = await bearer(client, "notify")
    _, body = await call(
        client, "POST", "/v1/notifications", auth, {**ACTIVATION, "callback_url": url}
    )
    await client.app[DISPATCHER].run_once()
    clock.advance(3600)
    await client.app[DISPATCHER].poll_once()  # the console provider reports delivered
    found: str = body["notifications"][0]["id"]
    return found


async def test_a_redirect_is_never_followed(gateway: GatewayFactory, clock: FakeClock) -> None:
    hook = Hook()
    async with TestServer(hook.app()) as server:
        client = await gateway(callback_hosts="127.0.0.1")
        await _final(client, clock, str(server.make_url("/redirect")))
        async with outbound.guarded_session(["127.0.0.1"]) as http:
            done = await deliver_due(storage(client), http, clock(), listed=["127.0.0.1"])
        assert done == 0  # a 307 is not an acknowledgement
        assert [h[0] for h in hook.hits] == ["/redirect"]  # /internal never reached


async def test_a_url_no_longer_allowed_is_not_called(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    hook = Hook()
    async with TestServer(hook.app()) as server:
        client = await gateway(callback_hosts="127.0.0.1")
        await _final(client, clock, str(server.make_url("/hook")))
        async with outbound.guarded_session([]) as http:  # the operator dropped the host
            assert await deliver_due(storage(client), http, clock(), listed=[]) == 0
        assert hook.hits == []
        async with outbound.guarded_session([]) as http:  # given up, never retried
            assert await deliver_due(storage(client), http, clock() + 86_400, listed=[]) == 0


async def test_each_callback_is_signed_with_the_clients_secret(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    hook = Hook()
    async with TestServer(hook.app()) as server:
        client = await gateway(callback_hosts="127.0.0.1")
        secret = signing.new_secret()
        sealer = client.app[DEPS].sealer
        await storage(client).set_signing_secret("portal", sealer.seal(secret), 0.0, replace=False)
        message_id = await _final(client, clock, str(server.make_url("/hook")))
        deliver: Callable[..., Any] = functools.partial(
            deliver_due, sealer=sealer, listed=["127.0.0.1"]
        )
        async with outbound.guarded_session(["127.0.0.1"]) as http:
            assert await deliver(storage(client), http, clock()) == 1
    [(_, headers, body)] = hook.hits
    header = headers[signing.HEADER]
    assert header.startswith(f"t={int(clock())},v1=")
    assert signing.verify(secret, header, body, clock())
    assert json.loads(body)["id"] == message_id
    assert not signing.verify(secret, header, body + b" ", clock())  # the body altered
    assert not signing.verify(secret, header, body, clock() + 301)  # replayed late
    assert not signing.verify("whsec_other", header, body, clock())


async def test_create_api_key_prints_the_signing_secret_once_and_it_rotates(
    tmp_path: Path,
) -> None:
    first = await create_key(tmp_path, "portal", "--scopes", "notify")
    assert first.returncode == 0, first.stderr
    [secret] = [w for w in first.stderr.split() if w.startswith(signing.PREFIX)]
    assert secret not in first.stdout  # stdout is the key alone
    assert not any_file_holds(tmp_path, secret)  # sealed at rest
    again = await create_key(tmp_path, "portal", "--scopes", "notify")
    assert signing.PREFIX not in again.stderr + again.stdout  # the client keeps its secret
    rotated = await cli(tmp_path, "rotate-signing-secret", "portal")
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip()
    assert new.startswith(signing.PREFIX)
    assert new != secret
    assert not any_file_holds(tmp_path, new)
    unknown = await cli(tmp_path, "rotate-signing-secret", "nobody")
    assert unknown.returncode == 1


def test_the_readme_receiver_verifies_and_rejects_a_stale_timestamp() -> None:
    body = b'{"id": "1"}'
    now = int(time.time())
    header = signing.signature("whsec_x", now, body)
    assert signing.verify("whsec_x", header, body, now)
    assert not signing.verify("whsec_x", header, body, now + 600)
    assert not signing.verify("whsec_x", "garbage", body, now)
