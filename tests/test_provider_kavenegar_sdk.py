"""The official (synchronous) kavenegar SDK as an independent client of the fake server.

If the SDK, which was written against the real service, gets the answers it expects from the fake,
the fake speaks the protocol faithfully. The SDK always builds `https://{host}/v1/…`, so the fake
runs behind TLS with a throw-away self-signed certificate that `requests` is told to trust.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.fakes.kavenegar import FakeKavenegar

kavenegar = pytest.importorskip("kavenegar")


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a test certificate")
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(crt), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return crt, key


@pytest.fixture
async def tls_server(
    fake: FakeKavenegar, cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TestServer]:
    crt, key = cert
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(crt, key)
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server(ssl=context)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(crt))
    yield server
    await server.close()


@pytest.fixture
def fake() -> FakeKavenegar:
    return FakeKavenegar()


def sdk_client(fake: FakeKavenegar, server: TestServer) -> Any:
    api = kavenegar.KavenegarAPI(fake.api_key)
    api.host = f"127.0.0.1:{server.port}"
    return api


async def test_sdk_talks_to_the_fake(fake: FakeKavenegar, tls_server: TestServer) -> None:
    api = sdk_client(fake, tls_server)

    sent = await asyncio.to_thread(
        api.sms_send,
        {"receptor": "09121234567", "message": "سلام", "sender": "10004346", "localid": "sdk-1"},
    )
    assert [e["receptor"] for e in sent] == ["09121234567"]
    assert (sent[0]["status"], sent[0]["cost"]) == (1, 120)

    again = await asyncio.to_thread(
        api.sms_send,
        {"receptor": "09121234567", "message": "سلام", "sender": "10004346", "localid": "sdk-1"},
    )
    assert again[0]["messageid"] == sent[0]["messageid"]
    assert fake.sms_count_by_localid["sdk-1"] == 1

    batch = await asyncio.to_thread(
        api.sms_sendarray,
        {
            "receptor": json.dumps(["09121111111", "09122222222"]),
            "sender": json.dumps(["10004346", "10004346"]),
            "message": json.dumps(["الف", "ب"], ensure_ascii=False),
            "localmessageids": json.dumps(["sdk-2", "sdk-3"]),
        },
    )
    assert [e["message"] for e in batch] == ["الف", "ب"]

    ids = ",".join(str(e["messageid"]) for e in [*sent, *batch])
    fake.set_status(sent[0]["messageid"], 10)
    statuses = await asyncio.to_thread(api.sms_status, {"messageid": ids})
    assert [s["status"] for s in statuses] == [10, 1, 1]

    lookup = await asyncio.to_thread(
        api.verify_lookup, {"receptor": "09121234567", "template": "otp", "token": "4821"}
    )
    assert lookup[0]["message"] == "کد شما: 4821"

    info = await asyncio.to_thread(api.account_info)
    assert info["remaincredit"] > 0


async def test_sdk_sees_errors_as_the_real_service_gives_them(
    fake: FakeKavenegar, tls_server: TestServer
) -> None:
    api = sdk_client(fake, tls_server)
    fake.fail(418)
    with pytest.raises(kavenegar.APIException, match="418"):
        await asyncio.to_thread(
            api.sms_send, {"receptor": "09121234567", "message": "x", "sender": "10004346"}
        )
    with pytest.raises(kavenegar.APIException, match="424"):
        await asyncio.to_thread(
            api.verify_lookup, {"receptor": "09121234567", "template": "nope", "token": "1"}
        )
