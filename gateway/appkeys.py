"""Typed application keys: what the app holds, set up and torn down in `cleanup_ctx`."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from aiohttp import web

from gateway.settings import Settings
from providers.base import Provider
from providers.dispatcher import Dispatcher
from sessions.flows.base import Flow
from sessions.ports import Storage
from sessions.services.deps import Deps
from sessions.ussd import UssdSessions

SETTINGS = web.AppKey("settings", Settings)
STORAGE: web.AppKey[Storage] = web.AppKey("storage")
USSD = web.AppKey("ussd", UssdSessions)
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")
FLOWS: web.AppKey[tuple[Flow, ...]] = web.AppKey("flows")
DEPS: web.AppKey[Deps] = web.AppKey("deps")
# Outbound SMS: one pooled client session, the configured providers by name, the outbox dispatcher.
HTTP = web.AppKey("http", aiohttp.ClientSession)
PROVIDERS: web.AppKey[dict[str, Provider]] = web.AppKey("providers")
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
# The USSD-over-SMPP binds (GATEWAY_USSD_SMPP_LINK), for their state in /readyz and /metrics.
USSD_LINKS: web.AppKey[list[Provider]] = web.AppKey("ussd_links")
# False in every worker but the first (`GATEWAY_WORKERS`): the background loops run once.
BACKGROUND = web.AppKey("background", bool)
