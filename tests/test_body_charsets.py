"""A callback body in an unknown or wrong charset is a 400 and an oversize one a 413, never a
500."""

from __future__ import annotations

import pytest

from tests.conftest import GatewayFactory

AT_HOP = b"sessionId=1&serviceCode=1&phoneNumber=09121234567&text="


FORM = "application/x-www-form-urlencoded"
BAD_BODIES = [
    pytest.param(f"{FORM}; charset=nope", AT_HOP, id="form-unknown-charset"),
    pytest.param(f"{FORM}; charset=hex", AT_HOP, id="form-bytes-codec"),
    pytest.param(f"{FORM}; charset=ascii", b"text=\xff", id="form-bytes-not-in-charset"),
    pytest.param("application/json; charset=nope", b'{"from": "1"}', id="json-unknown-charset"),
    pytest.param("application/json", b'{"from": "\xff"}', id="json-invalid-utf8"),
    pytest.param("multipart/form-data", b"junk", id="multipart-no-boundary"),
    pytest.param(
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="text"\r\n'
        b"Content-Type: text/plain; charset=nope\r\n\r\nx\r\n--b--\r\n",
        id="multipart-part-unknown-charset",
    ),
    pytest.param(
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="text"\r\n'
        b"Content-Transfer-Encoding: weird\r\n\r\nx\r\n--b--\r\n",
        id="multipart-unknown-encoding",
    ),
]


@pytest.mark.parametrize(("content_type", "body"), BAD_BODIES)
async def test_an_unreadable_ussd_body_is_a_400(
    gateway: GatewayFactory, content_type: str, body: bytes
) -> None:
    client = await gateway()
    async with client.post(
        "/ussd/africastalking", data=body, headers={"Content-Type": content_type}
    ) as resp:
        assert resp.status == 400, await resp.text()
        code = (await resp.json())["code"]
    # This dialect reads forms: a JSON body is no form at all, so its fields are missing.
    assert code == ("missing_fields" if content_type.startswith("application/json") else
                    "malformed_body")  # fmt: skip


@pytest.mark.parametrize("path", ["/sms/console/inbound", "/sms/console/status"])
@pytest.mark.parametrize(("content_type", "body"), BAD_BODIES)
async def test_an_unreadable_sms_callback_body_is_a_400(
    gateway: GatewayFactory, path: str, content_type: str, body: bytes
) -> None:
    client = await gateway()
    async with client.post(path, data=body, headers={"Content-Type": content_type}) as resp:
        assert resp.status == 400, await resp.text()
        answer = await resp.json()
        assert (answer["code"], answer["fields"]) == ("malformed_body", [])


async def test_an_oversize_body_in_an_unknown_charset_is_still_a_413(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    body = b"text=" + b"1" * 20_000
    headers = {"Content-Type": f"{FORM}; charset=nope"}
    for path in ("/ussd/africastalking", "/sms/console/inbound"):
        async with client.post(path, data=body, headers=headers) as resp:
            assert resp.status == 413
