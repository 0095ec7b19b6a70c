"""The `smpp` provider against an SMSC that is not ours (tests/fakes/smsc.pl, Debian's Net::SMPP):
the exact PDUs it reads, refusals, lost answers, a dropped bind, receipts and MO messages."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.app import create_app
from gateway.appkeys import PROVIDERS, STORAGE
from gateway.settings import Settings
from gateway.smpp_settings import parse_smpp_links
from gateway.web.auth import new_api_key
from providers.smpp import SmppProvider
from tests.conftest import FakeClock, GatewayFactory
from tests.dispatch_kit import ME, Client, dispatcher, enqueue_raw, row
from tests.seed import add_loan, sms_to
from tests.smsc_kit import PASSWORD, Smsc, needs_smsc, start_smsc

pytestmark = needs_smsc


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    peer = await start_smsc()
    yield peer
    await peer.close()


def link_of(client: Client) -> SmppProvider:
    [provider] = client.app[PROVIDERS].values()
    assert isinstance(provider, SmppProvider)
    return provider


async def bound(client: Client) -> SmppProvider:
    provider = link_of(client)
    assert await provider.link.wait_bound(5)
    return provider


async def test_bind_and_a_gsm7_submit_sm_byte_for_byte(gateway: GatewayFactory, smsc: Smsc) -> None:
    client = await gateway(**smsc.settings())
    await bound(client)
    [bind] = await smsc.wait_for("bind_transceiver")
    assert (bind["system_id"], bind["password_ok"], bind["system_type"]) == (
        "ssoesme", True, "",
    )  # fmt: skip
    assert PASSWORD not in str(smsc.events[1:])  # the SMSC never reports it back
    await enqueue_raw(client, "m-gsm", 1, body="Code 12")
    await dispatcher(client).run_once()
    [pdu] = await smsc.wait_for("submit_sm")
    raw = bytes.fromhex(pdu["hex"])
    seq = pdu["seq"].to_bytes(4, "big")
    expected = (
        b"\x00\x00\x00\x3b"  # command_length 59
        b"\x00\x00\x00\x04"  # submit_sm
        b"\x00\x00\x00\x00" + seq  # status 0, the sequence number
        + b"\x00"  # service_type: default
        + b"\x00\x01" + b"3000123\x00"  # source TON unknown, NPI ISDN, our line
        + b"\x01\x01" + b"989121234567\x00"  # destination international, ISDN, 98…
        + b"\x00\x00\x00"  # esm_class, protocol_id, priority_flag
        + b"\x00\x00"  # schedule_delivery_time, validity_period: none
        + b"\x01\x00\x00\x00"  # registered_delivery: a final receipt; GSM-7 (data_coding 0)
        + b"\x07Code 12"  # sm_length, short_message: one septet an octet
    )  # fmt: skip
    assert raw == expected
    r = await row(client, "m-gsm")
    assert (r["status"], r["provider"], r["provider_message_id"]) == ("sent", "smpp:mci", "5001")


async def test_persian_goes_ucs2_split_with_a_udh(gateway: GatewayFactory, smsc: Smsc) -> None:
    client = await gateway(**smsc.settings())
    await bound(client)
    text = "درخواست شما ثبت شد و نتیجه تا چهل و هشت ساعت دیگر با پیامک به شما اعلام می‌شود. " * 2
    await enqueue_raw(client, "m-fa", 1, body=text)
    await dispatcher(client).run_once()
    parts = await smsc.wait_for("submit_sm", 3)
    assert len(parts) == 3  # 164 UCS-2 units: 67 + 67 + 30
    glued = ""
    refs = set()
    for i, pdu in enumerate(parts, 1):
        assert (pdu["data_coding"], pdu["esm_class"]) == (8, 0x40)
        body = bytes.fromhex(pdu["short_message_hex"])
        udh, payload = body[:6], body[6:]
        assert udh[:3] == b"\x05\x00\x03"
        assert udh[4:] == bytes((3, i))
        refs.add(udh[3])
        assert len(payload) <= 134
        glued += payload.decode("utf-16-be")
    assert glued == text
    assert len(refs) == 1
    r = await row(client, "m-fa")
    assert (r["status"], r["provider_message_id"]) == ("sent", "5001")


async def test_over_the_links_parts_fails_unsent(gateway: GatewayFactory, smsc: Smsc) -> None:
    client = await gateway(**smsc.settings(smsc.link(max_parts=1)))
    await bound(client)
    await enqueue_raw(client, "m-long", 1, body="ب" * 71)
    await dispatcher(client).run_once()
    r = await row(client, "m-long")
    assert r["status"] == "failed"
    assert "too_long" in r["error"]
    assert smsc.pdus("submit_sm") == []


async def test_throttled_then_taken_once(
    gateway: GatewayFactory, smsc: Smsc, clock: FakeClock
) -> None:
    client = await gateway(**smsc.settings())
    await bound(client)
    await smsc.send("status 58 1")  # ESME_RTHROTTLED
    await enqueue_raw(client, "m-thr", 1)
    await dispatcher(client).run_once()
    r = await row(client, "m-thr")
    assert r["status"] == "queued"
    assert "ESME_RTHROTTLED" in r["error"]
    clock.advance(60)  # past the backoff and the link's wait as failing
    await dispatcher(client).run_once()
    pdus = await smsc.wait_for("submit_sm", 2)
    assert len(pdus) == 2  # refused once, retried, taken
    r = await row(client, "m-thr")
    assert (r["status"], r["provider_message_id"]) == ("sent", "5001")


@pytest.mark.parametrize(
    ("status", "kind", "state"),
    [("14", "ESME_RMSGQFUL", "queued"), ("0e", "ESME_RINVPASWD", "queued"),
     ("01", "ESME_RINVMSGLEN", "failed")],
)  # fmt: skip
async def test_refusals_classified(
    gateway: GatewayFactory, smsc: Smsc, status: str, kind: str, state: str
) -> None:
    client = await gateway(**smsc.settings())
    await bound(client)
    await smsc.send(f"status {status} 9")
    await enqueue_raw(client, "m-ref", 1)
    await dispatcher(client).run_once()
    r = await row(client, "m-ref")
    assert r["status"] == state
    assert kind in r["error"]
    states = await client.app[STORAGE].provider_states()
    if kind == "ESME_RINVPASWD":
        assert states["smpp:mci"].state == "paused"  # an account fault pauses the link


async def test_unanswered_submit_is_unknown_and_never_resent(
    gateway: GatewayFactory, smsc: Smsc, clock: FakeClock
) -> None:
    client = await gateway(**smsc.settings())
    await bound(client)
    await smsc.send("silent 1")
    await enqueue_raw(client, "m-lost", 1)
    await dispatcher(client).run_once()
    r = await row(client, "m-lost")
    assert r["status"] == "unknown"
    for _ in range(3):
        clock.advance(3600)
        await dispatcher(client).run_once()
    assert len(smsc.pdus("submit_sm")) == 1  # checked, never sent again
    clock.advance(10 * 24 * 3600)
    await dispatcher(client).run_once()
    r = await row(client, "m-lost")
    assert r["status"] == "failed"
    assert r["error"].startswith("unknown_outcome")
    assert len(smsc.pdus("submit_sm")) == 1


async def test_a_dropped_link_rebinds_and_loses_nothing(
    gateway: GatewayFactory, smsc: Smsc
) -> None:
    client = await gateway(**smsc.settings())
    provider = await bound(client)
    await enqueue_raw(client, "m-1", 1)
    await dispatcher(client).run_once()
    await smsc.send("drop")
    for _ in range(100):
        if provider.link.binds == 2 and provider.link.state == "bound":
            break
        await asyncio.sleep(0.05)
    assert provider.link.binds == 2
    await enqueue_raw(client, "m-2", 1)
    await dispatcher(client).run_once()
    pdus = await smsc.wait_for("submit_sm", 2)
    assert len(smsc.pdus("bind_transceiver")) == 2
    assert len(pdus) == 2  # each message once
    assert [(await row(client, m))["status"] for m in ("m-1", "m-2")] == ["sent", "sent"]


async def test_a_link_that_cannot_bind_refuses_and_hides_its_password(
    gateway: GatewayFactory, smsc: Smsc, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = await gateway(**smsc.settings(smsc.link(password="wrongPw1")))
    provider = link_of(client)
    assert not await provider.link.wait_bound(0.5)
    await enqueue_raw(client, "m-nb", 1)
    await dispatcher(client).run_once()
    r = await row(client, "m-nb")
    assert r["status"] == "queued"
    assert "link_down" in r["error"]
    ready = await (await client.get("/readyz")).json()
    assert ready["sms"]["smpp_links"]["mci"]["state"] in ("down", "binding")
    metrics = await (await client.get("/metrics")).text()
    assert 'dargah_smpp_link_state{link="mci",state="bound"} 0.0' in metrics
    for shown in (caplog.text, str(ready), metrics, repr(provider.config)):
        assert "wrongPw1" not in shown


async def test_link_state_in_readyz_and_metrics(gateway: GatewayFactory, smsc: Smsc) -> None:
    client = await gateway(**smsc.settings())
    await bound(client)
    ready = await (await client.get("/readyz")).json()
    assert ready["sms"]["smpp_links"]["mci"] == {
        "state": "bound", "reason": None, "binds": 1, "outstanding": 0,
    }  # fmt: skip
    metrics = await (await client.get("/metrics")).text()
    assert 'dargah_smpp_link_state{link="mci",state="bound"} 1.0' in metrics
    assert 'dargah_smpp_link_binds{link="mci"} 1.0' in metrics


async def wait_until(check: Any, within: float = 5.0) -> None:
    for _ in range(int(within / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not in time")


async def test_delivery_receipts_mark_messages_delivered(
    gateway: GatewayFactory, smsc: Smsc
) -> None:
    client = await gateway(**smsc.settings())
    await bound(client)
    await smsc.send("receipts 1")
    await enqueue_raw(client, "m-dlr", 1)
    await dispatcher(client).run_once()

    async def delivered() -> bool:
        return bool((await row(client, "m-dlr"))["status"] == "delivered")

    await wait_until(delivered)
    assert (await row(client, "m-dlr"))["provider_status"] == "DELIVRD"


async def test_a_receipt_by_its_text_alone(gateway: GatewayFactory, smsc: Smsc) -> None:
    client = await gateway(**smsc.settings())
    await bound(client)
    await enqueue_raw(client, "m-txt", 1)
    await dispatcher(client).run_once()
    text = b"id:5001 sub:001 dlvrd:000 submit date:2612051200 done date:2612051300 stat:UNDELIV"
    await smsc.deliver(
        source_addr="989121234567", destination_addr="3000123", esm_class=4,
        short_message_hex=text.hex(),
    )  # fmt: skip

    async def undelivered() -> bool:
        return bool((await row(client, "m-txt"))["status"] == "undelivered")

    await wait_until(undelivered)


async def test_mo_messages_reach_the_keywords_once(gateway: GatewayFactory, smsc: Smsc) -> None:
    client = await gateway(**smsc.settings())
    await bound(client)
    await add_loan(client, "12345678", "bank_no_credit")
    text = "وضعیت ۱۲۳۴۵۶۷۸"
    for _ in range(2):  # the SMSC repeats it: one message
        await smsc.deliver(
            source_addr="989121234567", destination_addr="3000123", data_coding=8,
            short_message_hex=text.encode("utf-16-be").hex(),
        )  # fmt: skip

    async def answered() -> bool:
        return bool(await sms_to(client, ME, "reply_loan_status"))

    await wait_until(answered)
    await asyncio.sleep(0.3)
    assert len(await sms_to(client, ME, "reply_loan_status")) == 1


@pytest.fixture
async def smsc2() -> AsyncIterator[Smsc]:
    peer = await start_smsc()
    yield peer
    await peer.close()


IRANCELL = "09351112233"


async def test_default_table_routes_each_operator_to_its_own_link(
    gateway: GatewayFactory, smsc: Smsc, smsc2: Smsc
) -> None:
    client = await gateway(
        **smsc.settings(smsc.link("mci"), smsc2.link("irancell"), sms_provider="console")
    )
    await enqueue_raw(client, "to-mci", 1)
    await enqueue_raw(client, "to-irancell", 1, recipient=IRANCELL)
    await enqueue_raw(client, "to-rightel", 1, recipient="09211112233")
    for provider in client.app[PROVIDERS].values():
        if isinstance(provider, SmppProvider):
            assert await provider.link.wait_bound(5)
    await dispatcher(client).run_once()
    [to_mci] = await smsc.wait_for("submit_sm")
    [to_irancell] = await smsc2.wait_for("submit_sm")
    assert to_mci["destination_addr"] == "989121234567"
    assert to_irancell["destination_addr"] == "989351112233"
    assert (await row(client, "to-mci"))["provider"] == "smpp:mci"
    assert (await row(client, "to-irancell"))["provider"] == "smpp:irancell"
    assert (await row(client, "to-rightel"))["provider"] == "console"  # no Rightel link


ROUTES = '[{"name":"mci","prefixes":["0912"],"providers":["smpp:mci","smpp:irancell"]}]'


async def test_a_number_that_moved_reaches_its_citizen_through_the_next_route(
    gateway: GatewayFactory, smsc: Smsc, smsc2: Smsc
) -> None:
    client = await gateway(
        **smsc.settings(smsc.link("mci"), smsc2.link("irancell"), sms_routes=ROUTES)
    )
    for provider in client.app[PROVIDERS].values():
        if isinstance(provider, SmppProvider):
            assert await provider.link.wait_bound(5)
    await smsc.send("status 0b 1")  # ESME_RINVDSTADR: not MCI's number any more
    await enqueue_raw(client, "moved", 1)
    await dispatcher(client).run_once()
    assert len(await smsc.wait_for("submit_sm")) == 1
    assert len(await smsc2.wait_for("submit_sm")) == 1
    r = await row(client, "moved")
    assert (r["status"], r["provider"], r["attempts"]) == ("sent", "smpp:irancell", 1)


async def test_refused_by_every_route_it_fails(
    gateway: GatewayFactory, smsc: Smsc, smsc2: Smsc
) -> None:
    client = await gateway(
        **smsc.settings(smsc.link("mci"), smsc2.link("irancell"), sms_routes=ROUTES)
    )
    for provider in client.app[PROVIDERS].values():
        if isinstance(provider, SmppProvider):
            assert await provider.link.wait_bound(5)
    await smsc.send("status 0b 1")
    await smsc2.send("status 0b 1")
    await enqueue_raw(client, "nowhere", 1)
    await dispatcher(client).run_once()
    r = await row(client, "nowhere")
    assert r["status"] == "failed"
    assert "ESME_RINVDSTADR" in r["error"]
    assert len(smsc.pdus("submit_sm")) + len(smsc2.pdus("submit_sm")) == 2


async def test_a_route_whose_first_link_is_down_goes_through_the_next(
    gateway: GatewayFactory, smsc: Smsc, smsc2: Smsc
) -> None:
    await smsc.send("refuse 1")  # MCI's SMSC refuses binds: its link never comes up
    client = await gateway(
        **smsc.settings(smsc.link("mci"), smsc2.link("irancell"), sms_routes=ROUTES)
    )
    await enqueue_raw(client, "around", 1)
    await dispatcher(client).run_once()  # refused for now (link down): marked failing
    await dispatcher(client).run_once()  # then the route's next provider
    assert len(await smsc2.wait_for("submit_sm")) == 1
    r = await row(client, "around")
    assert (r["status"], r["provider"]) == ("sent", "smpp:irancell")


async def test_hostile_deliver_sm_is_dropped_and_the_link_goes_on(
    gateway: GatewayFactory, smsc: Smsc
) -> None:
    client = await gateway(**smsc.settings())
    provider = await bound(client)
    await add_loan(client, "12345678", "bank_no_credit")
    await smsc.deliver(source_addr="3000", destination_addr="3000123", short_message_hex="ff1b")
    await smsc.deliver(
        source_addr="989121234567", destination_addr="3000123", esm_class=4,
        short_message_hex=b"stat:DELIVRD".hex(),  # a receipt without an id
    )  # fmt: skip
    await smsc.deliver(
        source_addr="989121234567", destination_addr="3000123", data_coding=8,
        esm_class=0x40, short_message_hex="ff" + "d8" * 3,  # a UDH longer than the text
    )  # fmt: skip
    await smsc.deliver(
        source_addr="989121234567", destination_addr="3000123",
        short_message_hex=b"STATUS 12345678".hex(),
    )  # fmt: skip

    async def answered() -> bool:
        return bool(await sms_to(client, ME, "reply_loan_status"))

    await wait_until(answered)
    assert provider.link.state == "bound"
    assert provider.link.binds == 1


async def test_a_slow_deliver_sm_holds_up_no_other(smsc: Smsc) -> None:
    """Each deliver_sm is handled on its own: the first waits for the second to be handled."""
    [config] = parse_smpp_links(json.dumps([smsc.link()]))
    provider = SmppProvider(config)
    second = asyncio.Event()
    seen: list[str] = []

    async def inbound(_name: str, sms: Any) -> None:
        seen.append(sms.text)
        if sms.text == "first":
            await asyncio.wait_for(second.wait(), 5)
        else:
            second.set()

    provider.listen(on_inbound=inbound)
    try:
        assert await provider.link.wait_bound(5)
        for text in ("first", "second"):
            await smsc.deliver(
                source_addr="989121234567", destination_addr="3000123",
                short_message_hex=text.encode().hex(),
            )  # fmt: skip
            # The test SMSC takes its commands on a channel of its own: the second is sent only
            # once the first is being handled, so the two cannot cross on their way.
            for _ in range(300):
                if text in seen:
                    break
                await asyncio.sleep(0.01)
        await asyncio.wait_for(second.wait(), 3)  # before the first gives up waiting
        await asyncio.sleep(0.1)
        assert seen == ["first", "second"]
    finally:
        await provider.close()


async def test_only_the_background_process_binds(
    aiohttp_client: Any, settings: Any, clock: FakeClock, smsc: Smsc
) -> None:
    cfg = Settings.model_validate({**settings.model_dump(), **smsc.settings()})
    client = await aiohttp_client(create_app(cfg, clock=clock, background=False))
    await asyncio.sleep(0.5)
    assert smsc.pdus("bind_transceiver") == []
    ready = await (await client.get("/readyz")).json()
    assert ready["sms"]["smpp_links"] == {}


async def test_link_state_in_the_operators_console(gateway: GatewayFactory, smsc: Smsc) -> None:
    client = await gateway(**smsc.settings())
    await bound(client)
    key, record = new_api_key("staff", frozenset({"ops"}), 0.0)
    await client.app[STORAGE].add_api_key(record)
    page = await (await client.get("/ops/login")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    signed = await client.post("/ops/login", data={"csrf": csrf.group(1), "key": key})
    assert signed.status == 200
    overview = await (await client.get("/ops")).text()
    assert '<span class="state" data-code="bound" id="link-mci">وصل</span>' in overview
    english = await (await client.get("/ops?lang=en")).text()
    assert 'data-code="bound" id="link-mci">bound</span>' in english
    assert "SMPP links" in english
