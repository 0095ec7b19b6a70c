"""A fallback for missed inbound callbacks: reads unread messages (Kavenegar `sms/receive`) and
hands each to the same service as the callback route."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from gateway.appkeys import DEPS, PROVIDERS, SETTINGS
from providers.base import InboxPoller
from sessions.services.inbound import handle_inbound

log = logging.getLogger("gateway.inbound")


async def poll_inbound_ctx(app: web.Application) -> AsyncIterator[None]:
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
                        await handle_inbound(
                            app[DEPS], name, sms.provider_message_id, sms.sender, sms.text
                        )
                except Exception:
                    log.exception("polling %s for inbound SMS failed", name)
            await asyncio.sleep(settings.inbound_poll_s)

    task = asyncio.create_task(loop(), name="inbound-poller")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
