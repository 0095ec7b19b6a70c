"""USSD over SMPP against the Net::SMPP test SMSC: a session walked from the dial to its last
screen, the same engine as the HTTP dialects, and the network's abort."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from channels.smpp_ussd import UssdIn, hop_of
from gateway.appkeys import STORAGE, USSD_LINKS
from providers.smpp import SmppProvider
from sessions.hop import SessionEvent
from tests.conftest import GatewayFactory
from tests.seed import add_loan
from tests.smsc_kit import Smsc, needs_smsc, start_smsc


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    peer = await start_smsc()
    yield peer
    await peer.close()


def ucs2(text: str) -> str:
    return text.encode("utf-16-be").hex()


async def dial(smsc: Smsc, op: int, text: str, session: str) -> None:
    await smsc.deliver(
        source_addr="989121234567", destination_addr="4455", data_coding=8,
        short_message_hex=ucs2(text),
        tlv_hex={"ussd_service_op": f"{op:02x}", "its_session_info": session},
    )  # fmt: skip


def screen(pdu: dict[str, Any]) -> str:
    return str(bytes.fromhex(pdu["short_message_hex"]).decode("utf-16-be"))


@needs_smsc
async def test_a_session_walked_over_smpp(gateway: GatewayFactory, smsc: Smsc) -> None:
    client = await gateway(**smsc.settings(smsc.link("ussd"), sms_provider="console",
                                           ussd_smpp_link="ussd"))  # fmt: skip
    [provider] = client.app[USSD_LINKS]
    assert isinstance(provider, SmppProvider)
    assert await provider.link.wait_bound(5)
    await add_loan(client, "12345678", "bank_no_credit")
    await dial(smsc, 1, "*4455#", "0500")  # PSSR indication: session 5, sequence 0
    [menu] = await smsc.wait_for("submit_sm")
    assert (menu["service_type"], menu["destination_addr"], menu["source_addr"]) == (
        "USSD", "989121234567", "4455",
    )  # fmt: skip
    assert menu["data_coding"] == 8
    assert menu["tlvs"] == {"0x0501": "02", "0x1383": "0502"}  # USSR request, sequence 1
    assert screen(menu).startswith("۱ پیگیری ثبت‌نام")
    for i, answer in enumerate(["۳", "1", "١٢٣٤٥٦٧٨"], 1):  # any digit script
        await dial(smsc, 18, answer, f"05{2 * i:02x}")  # USSR confirm: the caller's answer
        pdus = await smsc.wait_for("submit_sm", i + 1)
        assert pdus[-1]["tlvs"] == {"0x0501": "02", "0x1383": f"05{2 * i + 2:02x}"}
    assert screen(pdus[-1]).startswith("۱۲۳۴۵۶۷۸: اعتبار بانک عامل کافی نیست")
    await dial(smsc, 18, "98", "0508")  # "more": the status's last page ends the session
    last = (await smsc.wait_for("submit_sm", 5))[-1]
    assert last["tlvs"] == {"0x0501": "11", "0x1383": "050b"}  # PSSR response, end bit set
    assert "بانک ملت، مرکزی" in screen(last)


@needs_smsc
async def test_the_networks_abort_ends_the_session_unanswered(
    gateway: GatewayFactory, smsc: Smsc
) -> None:
    client = await gateway(**smsc.settings(smsc.link("ussd"), sms_provider="console",
                                           ussd_smpp_link="ussd"))  # fmt: skip
    [provider] = client.app[USSD_LINKS]
    assert isinstance(provider, SmppProvider)
    assert await provider.link.wait_bound(5)
    await dial(smsc, 1, "*4455*3#", "0700")  # a shortcut: straight to the loans menu
    [first] = await smsc.wait_for("submit_sm")
    assert screen(first).startswith("وضعیت تسهیلات")
    await dial(smsc, 18, "", "0703")  # its_session_info's end bit: the caller hung up
    await asyncio.sleep(0.5)
    assert len(smsc.pdus("submit_sm")) == 1  # nothing answered
    stored = await client.app[STORAGE].get_session("smpp:09121234567:s7")
    assert stored is not None
    assert stored.status != "active"
    ready = await (await client.get("/readyz")).json()
    assert ready["sms"]["smpp_links"]["ussd"]["state"] == "bound"


def ussd_in(op: int, text: str, **tlvs: bytes) -> UssdIn:
    fields = {0x0501: bytes((op,)), **{int(k[1:], 16): v for k, v in tlvs.items()}}
    return UssdIn("989121234567", "4455", text, fields)


def test_the_session_key_and_events() -> None:
    hop = hop_of(ussd_in(1, "*4455*1*2#", x0204=b"\x00\x07"), 0)
    assert (hop.session_id, hop.service_code, hop.text, hop.event) == (
        "09121234567:u7", "*4455#", "1*2", SessionEvent.NEW,
    )  # fmt: skip
    assert hop_of(ussd_in(18, " 2 "), 3).event is SessionEvent.CONTINUE
    assert hop_of(ussd_in(18, " 2 "), 3).text == "2"
    assert hop_of(ussd_in(18, "2"), 3).session_id == "09121234567"
    assert hop_of(ussd_in(33, ""), 4).event is SessionEvent.END  # an op we do not take: an end
    seq = hop_of(ussd_in(18, "1", x1383=b"\x09\x06"), 99)
    assert (seq.session_id, seq.hop_key) == ("09121234567:s9", "18:3")
