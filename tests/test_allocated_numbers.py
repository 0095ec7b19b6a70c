"""API recipients checked against the allocated Iranian mobile prefixes (Google's `phonenumbers`
metadata), with the operator's additions; the USSD caller keeps its fast canonical form."""

from __future__ import annotations

import phonenumbers
import pytest

from gateway.settings import Settings
from sessions.validators import InvalidInput, allocated_mobile, mobile
from tests.api_helpers import bearer, call, sms
from tests.conftest import GatewayFactory

ACTIVATION = {"template": "activation_code", "params": {"code": "482913"}}


def test_the_metadata_knows_the_networks_and_refuses_the_gaps() -> None:
    for number in ("09121234567", "09351112233", "09901234567", "09011234567", "09981234567"):
        assert allocated_mobile(number) == number
    for number in ("09811234567", "09061234567", "09251234567", "09971234567"):
        with pytest.raises(InvalidInput) as refused:
            allocated_mobile(number)
        assert refused.value.code == "unallocated_mobile"
        assert str(refused.value) == f"{number[:4]} is not an allocated Iranian mobile prefix"


def test_an_operator_adds_a_prefix_newer_than_the_metadata() -> None:
    assert allocated_mobile("09811234567", ("0981",)) == "09811234567"
    assert Settings(extra_mobile_prefixes="۰۹۸۱, 09061", _env_file=None).extra_mobile_prefixes == [
        "0981",
        "09061",
    ]
    with pytest.raises(ValueError, match="not a mobile prefix"):
        Settings(extra_mobile_prefixes="0212", _env_file=None)


def test_most_09_prefixes_are_not_allocated() -> None:
    """The issue's count: of the hundred `09xx`, the metadata allocates fewer than half."""
    allocated = 0
    for n in range(100):
        try:
            allocated_mobile(f"09{n:02d}1234567")
            allocated += 1
        except InvalidInput:
            pass
    assert 30 <= allocated < 50
    assert phonenumbers.region_code_for_country_code(98) == "IR"


def test_the_ussd_canonical_form_does_not_consult_the_metadata() -> None:
    assert mobile("+989811234567") == "09811234567"


async def test_a_list_refuses_an_unallocated_number_alone_with_its_reason(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    recipients = ["09121234567", "09811234567"]
    status, body = await call(
        client, "POST", "/v1/notifications", auth, {**ACTIVATION, "recipients": recipients}
    )
    assert status == 202
    assert (body["accepted"], body["rejected"]) == (1, 1)
    refused = body["notifications"][1]
    assert refused["id"] is None
    assert refused["error"]["code"] == "unallocated_mobile"
    assert refused["error"]["message"] == "0981 is not an allocated Iranian mobile prefix"
    assert [r["recipient"] for r in await sms(client)] == ["09121234567"]


@pytest.mark.parametrize(
    ("number", "code"), [("09811234567", "unallocated_mobile"), ("0812345678", "invalid_mobile")]
)
async def test_a_single_unusable_recipient_is_a_400_naming_the_field(
    gateway: GatewayFactory, number: str, code: str
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    status, body = await call(
        client, "POST", "/v1/notifications", auth, {**ACTIVATION, "recipient": number}
    )
    assert status == 400
    assert (body["code"], body["field"]) == (code, "recipient")
    assert await sms(client) == []


async def test_the_added_prefix_is_sent_to(gateway: GatewayFactory) -> None:
    client = await gateway(extra_mobile_prefixes="0981")
    auth = await bearer(client, "notify")
    status, body = await call(
        client, "POST", "/v1/notifications", auth, {**ACTIVATION, "recipient": "09811234567"}
    )
    assert status == 202, body
    assert [r["recipient"] for r in await sms(client)] == ["09811234567"]
