"""Final-status callbacks: each message whose requester gave a `callback_url` is reported there
once it is delivered, undelivered or failed (POST JSON, retried with backoff, durable)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from gateway.api.notifications import view
from gateway.appkeys import CLOCK, HTTP, SETTINGS, STORAGE
from providers.retry import next_attempt_delay
from sessions.ports import Storage

log = logging.getLogger("gateway.jobs.callbacks")

MAX_ATTEMPTS = 8
TIMEOUT_S = 5.0
BATCH = 50


async def deliver_due(
    store: Storage, http: aiohttp.ClientSession, now: float, rng: random.Random | None = None
) -> int:
    """One pass: posts every due callback once; returns how many were acknowledged."""
    acknowledged = 0
    for message, url, attempts in await store.due_callbacks(now, BATCH):
        payload = view(message).model_dump(mode="json")
        try:
            async with http.post(
                url,
                data=json.dumps(payload, ensure_ascii=False),
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
                allow_redirects=False,
            ) as resp:
                ok = 200 <= resp.status < 300
        except (aiohttp.ClientError, TimeoutError, ValueError):
            ok = False
        attempts += 1
        retry_at = None
        if not ok and attempts < MAX_ATTEMPTS:
            retry_at = now + next_attempt_delay(attempts, 2.0, 600.0, rng or random.Random())
        if not ok and retry_at is None:
            log.warning(
                "callback for notification %s given up after %d tries", message.id, attempts
            )
        await store.record_callback(message.id, ok, attempts, retry_at)
        acknowledged += ok
    return acknowledged


async def callbacks_ctx(app: web.Application) -> AsyncIterator[None]:
    interval = app[SETTINGS].dispatch_interval_s

    async def loop() -> None:
        while True:
            try:
                await deliver_due(app[STORAGE], app[HTTP], app[CLOCK]())
            except Exception:
                log.exception("notification callbacks failed")
            await asyncio.sleep(max(interval, 1.0))

    if not app[SETTINGS].dispatcher_enabled:
        yield
        return
    task = asyncio.create_task(loop(), name="notification-callbacks")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
