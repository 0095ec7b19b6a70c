"""Inbound SMS, from a callback or the `sms/receive` poller: deduplicated by the provider's
message id, then answered by the keyword services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from gateway.keys import DEPS, PROVIDERS, SETTINGS
from gateway.masking import mask_msisdn
from providers.base import InboundSms, InboxPoller
from sessions.services.deps import Deps
from sessions.services.sms_commands import answer
from sessions.validators import InvalidInput, mobile

log = logging.getLogger("gateway.inbound")


async def handle_inbound(deps: Deps, provider: str, sms: InboundSms) -> bool:
    """True when the message was new and has been answered."""
    try:
        sender = mobile(sms.sender)
    except InvalidInput:
        sender = ""
    if not await deps.store.claim_inbound(provider, sms.provider_message_id, sender, deps.clock()):
        return False
    if not sender:  # a short code or a landline: nothing we could answer by SMS
        log.info("%s inbound from a non-mobile sender ignored", provider)
        return True
    # The claim commits before answer() writes the reply to the outbox, so a concurrent repeat of
    # this message is refused meanwhile. Should answer() raise, the claim is released and the
    # error goes on: the callback fails (500, or 503 when busy) and the provider's retry is
    # answered. A hard crash of the process between the claim and the reply still drops that one
    # reply: at most once.
    try:
        parsed = await answer(deps, sender, sms.text)
    except BaseException:
        await _release(deps, provider, sms.provider_message_id)
        raise
    await deps.store.note_inbound_command(provider, sms.provider_message_id, parsed.command.value)
    log.info("%s inbound from %s: %s", provider, mask_msisdn(sender), parsed.command.value)
    return True


async def _release(deps: Deps, provider: str, provider_message_id: str) -> None:
    try:
        await deps.store.release_inbound(provider, provider_message_id)
    except Exception:
        log.exception("%s inbound: releasing the claim of a failed answer failed", provider)


async def poll_inbound_ctx(app: web.Application) -> AsyncIterator[None]:
    """A fallback for missed callbacks: reads unread messages (Kavenegar `sms/receive`)."""
    settings = app[SETTINGS]
    pollers = {name: p for name, p in app[PROVIDERS].items() if isinstance(p, InboxPoller)}
    if settings.inbound_poll_s <= 0 or not settings.inbound_line or not pollers:
        yield
        return

    async def loop() -> None:
        while True:
            for name, poller in pollers.items():
                try:
                    for sms in await poller.receive_unread(settings.inbound_line):
                        await handle_inbound(app[DEPS], name, sms)
                except Exception:
                    log.exception("polling %s for inbound SMS failed", name)
            await asyncio.sleep(settings.inbound_poll_s)

    task = asyncio.create_task(loop(), name="inbound-poller")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
