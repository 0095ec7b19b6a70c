"""USSD over SMPP (GATEWAY_USSD_SMPP_LINK): a bind of its own whose USSD `deliver_sm` run the
same session engine as `POST /ussd/{dialect}`, each answer a `submit_sm` on the same bind."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from time import perf_counter

import smpp34
from aiohttp import web

from channels.models import BadCallback, SessionEvent
from channels.smpp_ussd import DIALECT, UssdIn, hop_of, reply_to
from gateway.appkeys import SETTINGS, USSD, USSD_LINKS
from gateway.web.counters import METRICS
from providers.base import Provider
from providers.smpp import SmppProvider
from providers.smpp_link import Deliver, LinkDown
from providers.smpp_text import decode, encode_screen
from sessions.hop import UssdReply
from sessions.masking import mask_msisdn
from sessions.ports import Busy
from sessions.ussd import UNAVAILABLE

log = logging.getLogger("gateway.ussd.smpp")
SESSIONS_KEPT = 50_000  # hop counters of sessions without its_session_info


class UssdBind:
    def __init__(self, app: web.Application, provider: SmppProvider) -> None:
        self.app = app
        self.provider = provider
        self._hops: OrderedDict[str, int] = OrderedDict()

    def _count(self, session: str) -> int:
        n = self._hops.pop(session, -1) + 1
        self._hops[session] = n
        while len(self._hops) > SESSIONS_KEPT:
            self._hops.popitem(last=False)
        return n

    async def on_ussd(self, _name: str, pdu: Deliver) -> None:
        started = perf_counter()
        msg = UssdIn(
            pdu.source_addr,
            pdu.destination_addr,
            decode(pdu.short_message, pdu.data_coding, pdu.esm_class),
            pdu.tlvs,
        )
        try:
            first = hop_of(msg, 0)
        except BadCallback:
            log.warning("USSD over SMPP from an address that is no mobile: ignored")
            return
        if first.event is SessionEvent.NEW:
            self._hops.pop(first.session_id, None)
        hop = first._replace(hop_key=hop_of(msg, self._count(first.session_id)).hop_key)
        try:
            reply = await self.app[USSD].handle(hop)
            outcome = "end" if reply.end else "continue"
        except Busy:
            reply, outcome = UssdReply(UNAVAILABLE.fa, end=True), "busy"
        except Exception:
            log.exception("USSD hop over SMPP failed")
            reply, outcome = UssdReply(UNAVAILABLE.fa, end=True), "error"
        if hop.event is SessionEvent.END:
            self._hops.pop(hop.session_id, None)
            self.app[METRICS].hop(DIALECT, "end", perf_counter() - started)
            return  # the network ended it: nothing to answer
        if reply.end:
            self._hops.pop(hop.session_id, None)
        await self._answer(msg, reply)
        self.app[METRICS].hop(DIALECT, outcome, perf_counter() - started)

    async def _answer(self, msg: UssdIn, reply: UssdReply) -> None:
        out = reply_to(msg, reply)
        body = encode_screen(out.text)
        try:
            resp = await self.provider.link.submit(
                destination_addr=out.destination_addr,
                short_message=body.parts[0],
                source_addr=out.source_addr,
                service_type="USSD",
                dest_addr_ton=self.provider.config.dest_ton,
                dest_addr_npi=self.provider.config.dest_npi,
                data_coding=body.data_coding,
                registered_delivery=0,
                tlvs=[smpp34.Tlv(tag, value) for tag, value in out.tlvs.items()],
            )
        except (LinkDown, TimeoutError, smpp34.SmppError) as exc:
            log.warning("USSD answer to %s not sent: %s", mask_msisdn(msg.source_addr), exc)
            return
        if not resp.is_success:
            log.warning("USSD answer refused: status 0x%08X", resp.command_status)


async def ussd_smpp_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    name = settings.ussd_smpp_link
    none: list[Provider] = []
    app[USSD_LINKS] = none
    if not name:
        yield
        return
    links = {link.name: link for link in settings.provider_config().smpp_links}
    if name not in links:
        raise ValueError(f"GATEWAY_USSD_SMPP_LINK names no link of GATEWAY_SMPP_LINKS: {name!r}")
    provider = SmppProvider(links[name])
    bind = UssdBind(app, provider)
    provider.listen(on_ussd=bind.on_ussd)
    provider.start()
    mine: list[Provider] = [provider]
    app[USSD_LINKS] = mine
    yield
    await provider.close()
