"""The application factory: settings in, a wired aiohttp app out; resources live in cleanup_ctx."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

from aiohttp import web

from gateway import routes_health, routes_ussd
from gateway.errors import error_middleware
from gateway.keys import CLOCK, DEPS, FLOWS, SETTINGS, STORAGE, USSD
from gateway.settings import Settings
from gateway.storage import open_storage
from sessions.flows.base import Flow
from sessions.flows.registry import SERVICES, build_engine
from sessions.services.deps import Deps
from sessions.ussd import UssdSessions
from templates_sms import load_templates

log = logging.getLogger("gateway")

MAX_BODY = 256 * 1024  # callbacks and API bodies are small; 1,000 recipients fit easily


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


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], float] = time.time,
    flows: Sequence[Flow] = SERVICES,
    demo: bool = False,
) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY)
    app[SETTINGS] = settings or Settings()
    app[CLOCK] = clock
    app[FLOWS] = tuple(flows)
    app.cleanup_ctx.append(_storage_ctx)
    app.cleanup_ctx.append(_cleanup_ctx)
    routes_health.setup(app)
    routes_ussd.setup(app)
    return app
