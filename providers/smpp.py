"""The `smpp` provider: an ESME speaking SMPP 3.4 to an operator's SMSC over one bind.

Sends: each message as one `submit_sm` per part (UCS-2 or GSM-7, a concatenation UDH between
parts), under the bind's window and throughput cap; `submit_sm_resp` statuses classified by
`smpp_codes`. Exactly once: SMPP has no look-up by our id, so a `submit_sm` that left and got no
answer is unknown for good (`reconcile` can only say so): it waits until its validity ends and
fails `unknown_outcome`, never resent.
Receives: delivery receipts (`esm_class` receipt; the `receipted_message_id` TLV, else the text's
`id:`/`stat:`) and MO messages, handed to the listener the gateway sets (`listen`).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence

import smpp34

from providers.base import (
    AmbiguousError,
    DeliveryReport,
    DeliveryState,
    Handed,
    InboundSms,
    OutgoingSms,
    ProviderError,
    Reconciled,
    RetryableError,
    SendResult,
    Verdict,
    canonical_msisdn,
    make_error,
    rejected,
)
from providers.config import SmppLinkConfig
from providers.smpp_codes import MESSAGE_STATE, RECEIPT_STAT, classify
from providers.smpp_link import Deliver, LinkDown, LinkState, SmppLink
from providers.smpp_text import ESM_RECEIPT, TooLong, decode, encode, receipt_fields
from sessions.masking import mask_msisdn

log = logging.getLogger("dargah.providers.smpp")

TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
TLV_USSD_SERVICE_OP = 0x0501
# A later part refused for now (throttled, the link dropped) is tried again this many times
# within the send: its first parts are out, so the message cannot go back to the queue whole.
PART_TRIES = 5
PART_WAIT_S = 1.0
# Part ids remembered, so a receipt for a later part lands on its message (the first part's id).
PART_IDS_KEPT = 20_000

ReportHandler = Callable[[str, list[DeliveryReport]], Awaitable[None]]
InboundHandler = Callable[[str, InboundSms], Awaitable[None]]
UssdHandler = Callable[[str, Deliver], Awaitable[None]]


def international(msisdn: str) -> str:
    """09xxxxxxxxx as the SMSC takes it (98…, TON international)."""
    return "98" + msisdn[1:] if msisdn.startswith("0") else msisdn


class SmppProvider:
    max_batch = 50  # sent together, under the bind's window
    tells_twins_apart = True  # nothing is ever matched by its text: an unknown stays unknown

    def __init__(self, config: SmppLinkConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.name = f"smpp:{config.name}"
        self.config = config
        self.link = SmppLink(config, self._on_deliver)
        self._clock = clock
        self._refs = itertools.count(1)
        self._parts: OrderedDict[str, str] = OrderedDict()
        self.on_reports: ReportHandler | None = None
        self.on_inbound: InboundHandler | None = None
        self.on_ussd: UssdHandler | None = None

    def listen(
        self,
        on_reports: ReportHandler | None = None,
        on_inbound: InboundHandler | None = None,
        on_ussd: UssdHandler | None = None,
    ) -> None:
        self.on_reports, self.on_inbound, self.on_ussd = on_reports, on_inbound, on_ussd

    def start(self) -> None:
        self.link.start()

    def link_states(self) -> list[LinkState]:
        return [self.link.snapshot()]

    # --- sending ---------------------------------------------------------------------------

    async def send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        if not await self.link.wait_bound(min(2.0, self.config.bind_timeout_s)):
            raise RetryableError("link_down", f"the bind is down: {self.link.reason}", self.name)
        return list(await asyncio.gather(*(self._one(m) for m in messages)))

    def _error(self, status: int) -> ProviderError:
        kind, label = classify(status)
        if kind == "destination":
            error = make_error("permanent", label, "the SMSC refused the destination", self.name)
            error.next_route = True
            return error
        return make_error(kind, label, f"submit_sm refused: {label}", self.name)

    async def _one(self, msg: OutgoingSms) -> SendResult:
        c = self.config
        try:
            body = encode(msg.text, next(self._refs) % 256, c.max_parts)
        except TooLong as exc:
            return rejected(msg, make_error("permanent", "too_long", str(exc), self.name))
        ids: list[str] = []
        for index, part in enumerate(body.parts):
            for attempt in range(1, PART_TRIES + 1):
                try:
                    resp = await self.link.submit(
                        destination_addr=international(msg.receptor),
                        short_message=part,
                        source_addr=c.source_addr,
                        source_addr_ton=c.source_ton,
                        source_addr_npi=c.source_npi,
                        dest_addr_ton=c.dest_ton,
                        dest_addr_npi=c.dest_npi,
                        esm_class=body.esm_class,
                        data_coding=body.data_coding,
                        registered_delivery=c.registered_delivery,
                    )
                except LinkDown as exc:
                    error: ProviderError = RetryableError("link_down", str(exc), self.name)
                except (TimeoutError, smpp34.SmppError) as exc:
                    # It may have reached the SMSC: never sent again, by us or by a retry.
                    why = "no submit_sm_resp in time" if isinstance(exc, TimeoutError) else "cut"
                    return rejected(msg, AmbiguousError("no_answer", why, self.name))
                else:
                    if resp.is_success:
                        ids.append(resp.message_id or "")
                        break
                    error = self._error(resp.command_status)
                if index == 0 or error.kind != "retryable" or attempt == PART_TRIES:
                    if index == 0:
                        return rejected(msg, error)
                    # Its first parts are out: sending it whole again would repeat them.
                    log.warning(
                        "smpp %s: part %d of %d to %s refused (%s); the first ones went out",
                        self.name, index + 1, len(body.parts), mask_msisdn(msg.receptor),
                        error.code,
                    )  # fmt: skip
                    partly = make_error("permanent", "partly_sent", error.reason, self.name)
                    return rejected(msg, partly)
                await asyncio.sleep(PART_WAIT_S * attempt)
        first = ids[0]
        for other in ids[1:]:
            self._remember(other, first)
        return SendResult(msg.local_id, first, DeliveryState.SENT, None, "ESME_ROK")

    def _remember(self, part_id: str, first: str) -> None:
        self._parts[part_id] = first
        while len(self._parts) > PART_IDS_KEPT:
            self._parts.popitem(last=False)

    async def reconcile(
        self, items: Sequence[Handed], known_ids: frozenset[str], now: float
    ) -> list[Reconciled]:
        """SMPP cannot look a message up without the SMSC's id, which a lost answer never gave."""
        return [Reconciled(item.local_id, Verdict.UNKNOWN) for item in items]

    async def query_status(self, provider_message_ids: Sequence[str]) -> list[DeliveryReport]:
        return []  # receipts come over the bind; `query_sm` is not relied on

    def parse_status_callback(self, fields: Mapping[str, str]) -> list[DeliveryReport]:
        raise ValueError("SMPP delivery receipts come over the bind, not over HTTP")

    def parse_inbound(self, fields: Mapping[str, str]) -> InboundSms:
        raise ValueError("SMPP messages come over the bind, not over HTTP")

    async def account_ok(self) -> bool:
        return await self.link.wait_bound(self.config.bind_timeout_s)

    async def close(self) -> None:
        await self.link.close()

    # --- receiving -------------------------------------------------------------------------

    async def _on_deliver(self, pdu: Deliver) -> None:
        if TLV_USSD_SERVICE_OP in pdu.tlvs:
            if self.on_ussd is not None:
                await self.on_ussd(self.name, pdu)
            return
        report = self.receipt(pdu)
        if report is not None:
            if self.on_reports is not None:
                await self.on_reports(self.name, [report])
            return
        sms = self.mo(pdu)
        if sms is not None and self.on_inbound is not None:
            await self.on_inbound(self.name, sms)

    def receipt(self, pdu: Deliver) -> DeliveryReport | None:
        """A delivery receipt's message id and state; None when `pdu` is not a receipt."""
        if not pdu.esm_class & ESM_RECEIPT:
            return None
        text = decode(pdu.short_message, pdu.data_coding)
        fields = receipt_fields(text)
        mid = pdu.tlvs.get(TLV_RECEIPTED_MESSAGE_ID, b"").rstrip(b"\0").decode("latin-1")
        mid = mid or fields.get("id", "")
        state_tlv = pdu.tlvs.get(TLV_MESSAGE_STATE)
        stat = MESSAGE_STATE.get(state_tlv[0], "") if state_tlv else ""
        stat = stat or fields.get("stat", "").upper()
        if not mid or stat not in RECEIPT_STAT:
            log.warning("smpp %s: a receipt without a readable id or state: dropped", self.name)
            return None
        mid = self._parts.get(mid, mid)
        return DeliveryReport(mid, RECEIPT_STAT[stat], stat)

    def mo(self, pdu: Deliver) -> InboundSms | None:
        """A citizen's message, with an id that is the same for the same text from the same
        number within the MO window: an SMSC repeating a deliver_sm makes one message."""
        try:
            sender = canonical_msisdn(pdu.source_addr)
        except ValueError:
            log.warning("smpp %s: an MO message from a sender that is no mobile", self.name)
            return None
        text = decode(pdu.short_message, pdu.data_coding, pdu.esm_class)
        bucket = int(self._clock() // max(self.config.mo_window_s, 1.0))
        key = f"{sender}|{pdu.destination_addr}|{text}|{bucket}".encode()
        mid = "mo-" + hashlib.sha256(key).hexdigest()[:24]
        return InboundSms(mid, sender, pdu.destination_addr, text)
