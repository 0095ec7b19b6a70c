"""Final-status callbacks: each message whose requester gave a `callback_url` is reported there
once it is delivered, undelivered or failed (POST JSON, signed, retried with backoff, durable).

The calls go only where the operator allows (gateway/web/outbound.py): the URL is checked again
before each call, every connection's address when it is made, and a redirect is an answer that
is not a 2xx, never followed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator, Collection

import aiohttp
from aiohttp import web

from gateway.api.notifications import view
from gateway.appkeys import CLOCK, DEPS, SETTINGS, STORAGE
from gateway.web import outbound, signing
from providers.retry import next_attempt_delay
from sessions.ports import Storage
from sessions.sealing import SealBroken, Sealer

log = logging.getLogger("gateway.jobs.callbacks")

MAX_ATTEMPTS = 8
TIMEOUT_S = 5.0
BATCH = 50


async def _secret(store: Storage, sealer: Sealer | None, client: str) -> str | None:
    sealed = await store.signing_secret(client) if sealer is not None else None
    if sealed is None or sealer is None:
        return None
    try:
        return sealer.open(sealed)
    except SealBroken:
        log.error("the signing secret of client %r cannot be opened with the seal keys", client)
        return None


async def deliver_due(
    store: Storage,
    http: aiohttp.ClientSession,
    now: float,
    rng: random.Random | None = None,
    *,
    sealer: Sealer | None = None,
    listed: Collection[str] = (),
) -> int:
    """One pass: posts every due callback once; returns how many were acknowledged. `http`
    should be an `outbound.guarded_session`; `listed` the operator's GATEWAY_CALLBACK_HOSTS."""
    acknowledged = 0
    secrets: dict[str, str | None] = {}
    for message, url, attempts, client in await store.due_callbacks(now, BATCH):
        attempts += 1
        try:
            outbound.check_url(url, listed)
        except outbound.Refused as exc:  # the operator's list changed since it was accepted
            log.warning("callback for notification %s refused: %s", message.id, exc)
            await store.record_callback(message.id, False, max(attempts, MAX_ATTEMPTS), None)
            continue
        body = json.dumps(view(message).model_dump(mode="json"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if client not in secrets:
            secrets[client] = await _secret(store, sealer, client)
        secret = secrets[client]
        if secret is not None:
            headers[signing.HEADER] = signing.signature(secret, int(now), body)
        try:
            async with http.post(
                url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
                allow_redirects=False,
            ) as resp:
                ok = 200 <= resp.status < 300
        except (aiohttp.ClientError, TimeoutError, ValueError, OSError):
            ok = False
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
    settings = app[SETTINGS]
    interval = settings.dispatch_interval_s

    async def loop(http: aiohttp.ClientSession) -> None:
        while True:
            try:
                await deliver_due(
                    app[STORAGE],
                    http,
                    app[CLOCK](),
                    sealer=app[DEPS].sealer,
                    listed=settings.callback_hosts,
                )
            except Exception:
                log.exception("notification callbacks failed")
            await asyncio.sleep(max(interval, 1.0))

    if not settings.dispatcher_enabled:
        yield
        return
    async with outbound.guarded_session(settings.callback_hosts) as http:
        task = asyncio.create_task(loop(http), name="notification-callbacks")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
