"""Deletes USSD sessions too old to resume, so the table stays the size of live traffic."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from gateway.appkeys import CLOCK, SETTINGS, STORAGE

log = logging.getLogger("gateway.cleanup")


async def cleanup_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    keep = max(settings.session_ttl_s, settings.resume_window_s) + 60

    async def loop() -> None:
        while True:
            await asyncio.sleep(settings.cleanup_interval_s)
            try:
                removed = await app[STORAGE].purge_sessions(app[CLOCK]() - keep)
                if removed:
                    log.info("purged %d expired sessions", removed)
            except Exception:
                log.exception("session clean-up failed")

    task = asyncio.create_task(loop(), name="session-cleanup")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
