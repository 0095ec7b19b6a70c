"""SMPP links' wiring: what comes over a bind (delivery receipts, citizens' messages) goes where
the HTTP callbacks' would, and each link's state is read for `/readyz` and `/metrics`."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web

from gateway.appkeys import BACKGROUND, CLOCK, DEPS, STORAGE
from providers.base import DeliveryReport, InboundSms, Provider
from providers.outbox import status_updates
from providers.smpp import SmppProvider
from providers.smpp_link import LinkState
from sessions.services.inbound import handle_inbound

log = logging.getLogger("gateway.smpp")


def wire(app: web.Application, providers: Mapping[str, Provider]) -> None:
    """Sets every SMPP provider's listeners and, in the process that runs the background jobs,
    starts its bind: one bind a link per gateway, however many workers serve the port."""

    async def reports(name: str, found: list[DeliveryReport]) -> None:
        updated = await app[STORAGE].apply_reports(name, status_updates(found), app[CLOCK]())
        log.info("%s delivery receipt: %d report(s), %d updated", name, len(found), updated)

    async def inbound(name: str, sms: InboundSms) -> None:
        fresh = await handle_inbound(app[DEPS], name, sms.provider_message_id, sms.sender, sms.text)
        if not fresh:
            log.info("%s: a repeated MO message ignored", name)

    for provider in providers.values():
        if isinstance(provider, SmppProvider):
            provider.listen(on_reports=reports, on_inbound=inbound, on_ussd=provider.on_ussd)
            if app[BACKGROUND]:
                provider.start()


def link_states(providers: dict[str, Provider]) -> list[LinkState]:
    return [
        state
        for provider in providers.values()
        if isinstance(provider, SmppProvider)
        for state in provider.link_states()
    ]
