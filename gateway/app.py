"""The application factory: settings in, a wired aiohttp app out; resources live in cleanup_ctx."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp
from aiohttp import web

from gateway import (
    access,
    api_complaints,
    api_notifications,
    api_notify,
    api_records,
    api_resets,
    edge,
    metrics,
    routes_docs,
    routes_health,
    routes_sms,
    routes_ussd,
)
from gateway.callbacks import callbacks_ctx
from gateway.counters import METRICS, Metrics
from gateway.demo import setup as setup_demo
from gateway.inbound import poll_inbound_ctx
from gateway.keys import (
    BACKGROUND,
    CLOCK,
    DEPS,
    DISPATCHER,
    FLOWS,
    HTTP,
    PROVIDERS,
    SETTINGS,
    STORAGE,
    USSD,
)
from gateway.settings import Settings
from gateway.storage import open_storage
from providers.dispatcher import Dispatcher
from providers.registry import build_provider
from sessions.flows.base import Flow
from sessions.flows.registry import SERVICES, build_engine
from sessions.services.deps import Deps
from sessions.ussd import UssdSessions
from templates_sms import load_templates

log = logging.getLogger("gateway")

# The app's own limit is the callbacks' (the hot path reads its body as it comes); the edge
# (gateway/edge.py) raises it for the API routes.
MAX_BODY = access.CALLBACK_MAX_BODY


async def _storage_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    storage = await open_storage(settings.resolved_database_url())
    app[STORAGE] = storage
    flows: tuple[Flow, ...] = app[FLOWS]
    deps = Deps(store=storage, templates=load_templates(), clock=app[CLOCK])
    app[DEPS] = deps
    app[USSD] = UssdSessions(
        store=storage,
        engine=build_engine(flows),
        deps=deps,
        clock=app[CLOCK],
        ttl_s=settings.session_ttl_s,
        resume_window_s=settings.resume_window_s,
    )
    yield
    await storage.close()


async def _cleanup_ctx(app: web.Application) -> AsyncIterator[None]:
    """Deletes sessions too old to resume, so the table stays the size of live traffic."""
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


async def _providers_ctx(app: web.Application) -> AsyncIterator[None]:
    """One pooled client session for every provider; the primary and the fallback, by name."""
    settings = app[SETTINGS]
    async with aiohttp.ClientSession() as session:
        app[HTTP] = session
        primary = build_provider(settings.sms_provider, settings, session)
        providers = {primary.name: primary}
        if settings.sms_fallback and settings.sms_fallback != settings.sms_provider:
            fallback = build_provider(settings.sms_fallback, settings, session)
            providers[fallback.name] = fallback
        app[PROVIDERS] = providers
        # Built even when disabled, so `run_once` can be driven by hand (tests, a one-shot run).
        app[DISPATCHER] = Dispatcher(
            app[STORAGE],
            primary,
            settings,
            fallback=providers.get(settings.sms_fallback or ""),
            clock=app[CLOCK],
        )
        if settings.dispatcher_enabled and app[BACKGROUND]:
            app[DISPATCHER].start()
        yield
        await app[DISPATCHER].stop()
        for provider in providers.values():
            await provider.close()


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], float] = time.time,
    flows: Sequence[Flow] = SERVICES,
    demo: bool = False,
    background: bool = True,
) -> web.Application:
    """The gateway. `background=False` serves requests only: another worker process of the same
    gateway runs the dispatcher, the pollers and the clean-up (see gateway/workers.py)."""
    settings = settings or Settings()
    # Unauthenticated callbacks on a public address cannot be switched on, whoever builds the app.
    access.check_exposure(settings)
    app = web.Application(client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    app[METRICS] = Metrics()  # before any route: every route counts into it
    app[CLOCK] = clock
    app[FLOWS] = tuple(flows)
    app[BACKGROUND] = background
    app.cleanup_ctx.append(_storage_ctx)
    app.cleanup_ctx.append(_providers_ctx)
    if background:
        app.cleanup_ctx.append(_cleanup_ctx)
        app.cleanup_ctx.append(poll_inbound_ctx)
        app.cleanup_ctx.append(callbacks_ctx)
    routes_health.setup(app)
    routes_ussd.setup(app)
    routes_sms.setup(app)
    api_notifications.setup(app)
    api_records.setup(app)
    api_complaints.setup(app)
    api_resets.setup(app)
    api_notify.setup(app)
    routes_docs.setup(app)
    metrics.setup(app)
    if demo:
        setup_demo(app)
    edge.add_fallback(app)  # last: the answer for any other path
    return app
