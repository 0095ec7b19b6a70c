"""The outbox dispatcher's wiring: one pooled client session for every provider, the primary and
the fallback by name, and the dispatcher's loop for the life of the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
from aiohttp import web

from gateway.appkeys import BACKGROUND, CLOCK, DEPS, DISPATCHER, HTTP, PROVIDERS, SETTINGS, STORAGE
from gateway.jobs import smpp
from gateway.web.counters import METRICS
from providers.console import Inbox
from providers.dispatcher import Dispatcher
from providers.registry import build_provider


async def dispatch_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # The console provider keeps what it took for the web phone's inbox (sealed, for a day).
    sealer = app[DEPS].sealer
    inbox = Inbox(app[STORAGE], sealer, app[CLOCK]) if sealer is not None else None
    config = replace(settings.provider_config(), console_inbox=inbox)
    async with aiohttp.ClientSession() as session:
        app[HTTP] = session
        primary = build_provider(config.primary, config, session)
        providers = {primary.name: primary}
        if config.fallback and config.fallback != config.primary:
            fallback = build_provider(config.fallback, config, session)
            providers[fallback.name] = fallback
        table = settings.route_table(config)
        others = []
        for name in table.provider_names() if table is not None else []:
            if name not in providers:
                providers[name] = build_provider(name, config, session)
                others.append(providers[name])
        app[PROVIDERS] = providers
        smpp.wire(app, providers)
        # Built even when disabled, so `run_once` can be driven by hand (tests, a one-shot run).
        app[DISPATCHER] = Dispatcher(
            app[STORAGE],
            primary,
            settings.dispatch_config(),
            fallback=providers.get(config.fallback or ""),
            clock=app[CLOCK],
            sealer=app[DEPS].sealer,
            stats=app[METRICS],
            table=table,
            others=others,
        )
        if settings.dispatcher_enabled and app[BACKGROUND]:
            app[DISPATCHER].start()
        yield
        await app[DISPATCHER].stop()
        for provider in providers.values():
            await provider.close()
