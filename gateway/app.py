"""The application factory: settings in, a wired aiohttp app out; resources live in cleanup_ctx.

The routes and the background jobs are explicit lists below: a new route module is one line in
`ROUTES`, a new background loop one line in `JOBS`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence

from aiohttp import web

from gateway.api.registry import RESOURCES
from gateway.appkeys import BACKGROUND, CLOCK, DEPS, FLOWS, SETTINGS, STORAGE, USSD
from gateway.cli.demo import setup as setup_demo
from gateway.jobs.callbacks import callbacks_ctx
from gateway.jobs.cleanup import cleanup_ctx
from gateway.jobs.dispatch import dispatch_ctx
from gateway.jobs.inbound import poll_inbound_ctx
from gateway.jobs.smpp_ussd import ussd_smpp_ctx
from gateway.routes import docs, health, home, metrics, ops, simulator, sms, ussd
from gateway.sealkey import load_sealer
from gateway.settings import ANY, Settings
from gateway.storage import open_storage
from gateway.web import access, edge, logs, malformed
from gateway.web.counters import METRICS, Metrics
from sessions.flows.base import Flow
from sessions.flows.registry import SERVICES, build_engine
from sessions.services.deps import Deps, Policy
from sessions.ussd import UssdSessions
from templates_sms import load_templates

# Each module's `setup(app)` adds its routes behind the edge.
ROUTES = (health, ussd, sms, *RESOURCES, docs, metrics, home, simulator, ops)
# Loops that run once per gateway (in the first worker only): the dispatcher is wired in every
# process, since `run_once` is also driven by hand; it starts only where jobs run.
JOBS = (cleanup_ctx, poll_inbound_ctx, callbacks_ctx)

# The app's own limit is the callbacks' (the hot path reads its body as it comes); the edge
# (gateway/web/edge.py) raises it for the API routes.
MAX_BODY = access.CALLBACK_MAX_BODY


async def _storage_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    storage = await open_storage(
        settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous
    )
    app[STORAGE] = storage
    flows: tuple[Flow, ...] = app[FLOWS]
    deps = Deps(
        store=storage,
        templates=load_templates(),
        clock=app[CLOCK],
        policy=Policy(
            message_validity_s=settings.message_validity_s,
            verify_ttl_s=settings.verify_ttl_s,
            verify_max_checks=settings.verify_max_checks,
            verify_resend_s={k: v for k, v in settings.verify_resend_s.items() if k != ANY},
            verify_resend_default_s=settings.verify_resend_s.get(ANY, 120),
            verify_per_hour=settings.verify_per_hour,
            verify_per_day=settings.verify_per_day,
            verify_sends_per_key_per_minute=settings.verify_sends_per_key_per_minute,
            extra_mobile_prefixes=tuple(settings.extra_mobile_prefixes),
            loan_code_digits=settings.loan_code_digits,
            foreign_id_digits=settings.foreign_id_digits,
        ),
        sealer=load_sealer(settings),
    )
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
    logs.tag_requests()
    malformed.install()  # the parser's refusals in JSON too
    app = web.Application(client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    app[METRICS] = Metrics()  # before any route: every route counts into it
    app[CLOCK] = clock
    app[FLOWS] = tuple(flows)
    app[BACKGROUND] = background
    app.cleanup_ctx.append(_storage_ctx)
    app.cleanup_ctx.append(dispatch_ctx)
    if background:
        app.cleanup_ctx.extend(JOBS)
        app.cleanup_ctx.append(ussd_smpp_ctx)
    for module in ROUTES:
        module.setup(app)
    if demo:
        setup_demo(app)
    edge.add_fallback(app)  # last: the answer for any other path
    return app
