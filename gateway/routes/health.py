"""Liveness and readiness, and the SMS side's state that both `/readyz` and `/metrics` report.

`/readyz` means "this node can answer hops and API calls": it fails only when the database does
not answer. A paused provider (an SMS credit or key problem) or a stuck dispatcher must not take a
node out of the load balancer, which would stop the USSD menus for nothing; they are reported in
the body and in metrics (`dargah_dispatcher_stuck`, `dargah_provider_state`), for alerting.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.appkeys import (
    BACKGROUND,
    CLOCK,
    DISPATCHER,
    PROVIDERS,
    SETTINGS,
    STORAGE,
    USSD_LINKS,
)
from gateway.jobs.smpp import link_states
from gateway.web import edge
from providers.smpp_link import LinkState
from sessions.ports import ProviderState

PROVIDER_STATES = ("active", "failing", "paused")


@dataclass(frozen=True, slots=True)
class SmsState:
    providers: dict[str, ProviderState]
    # This node's dispatcher: running here, or not (disabled, or another node's job).
    dispatcher_running: bool
    last_pass_age_s: float | None
    # How long the longest-waiting queued message has been due (0 when none is).
    oldest_due_age_s: float
    stuck: bool
    # This process's SMPP binds (a bind lives in the process that runs the dispatcher).
    links: tuple[LinkState, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "dispatcher": {
                "state": "stuck"
                if self.stuck
                else "running"
                if self.dispatcher_running
                else "idle",
                "running_here": self.dispatcher_running,
                "last_pass_age_s": _round(self.last_pass_age_s),
                "oldest_due_age_s": _round(self.oldest_due_age_s),
            },
            "providers": {
                name: {"state": p.state, "reason": p.reason or None, "manual": p.manual}
                for name, p in self.providers.items()
            },
            "smpp_links": {
                link.name: {
                    "state": link.state,
                    "reason": link.reason or None,
                    "binds": link.binds,
                    "outstanding": link.outstanding,
                }
                for link in self.links
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


async def sms_state(app: web.Application) -> SmsState:
    """From the shared database, so every node of a cluster tells the same: a message due longer
    than `GATEWAY_DISPATCHER_STUCK_AFTER_S` while a provider would take it means no dispatcher
    (on any node) is claiming. A provider paused or failing and waiting for its next try holds
    its messages on purpose, which is not stuck."""
    storage = app[STORAGE]
    now = app[CLOCK]()
    recorded = await storage.provider_states()
    providers = {name: recorded.get(name, ProviderState(name, "active")) for name in app[PROVIDERS]}
    oldest = await storage.oldest_due()
    waited = max(now - oldest, 0.0) if oldest is not None else 0.0
    bound = app[SETTINGS].dispatcher_stuck_after_s
    # Free to take a message for the whole of that wait: up, or failing with its retry long due.
    free = any(
        p.state == "active" or (p.state == "failing" and (p.probe_at or 0.0) <= now - bound)
        for p in providers.values()
    )
    dispatcher = app[DISPATCHER]
    last = dispatcher.last_pass_at
    return SmsState(
        providers=providers,
        dispatcher_running=dispatcher.running and app[BACKGROUND],
        last_pass_age_s=max(now - last, 0.0) if last is not None else None,
        oldest_due_age_s=waited,
        stuck=free and waited > bound,
        # A bind lives in the process of the background jobs: only that one reports links.
        links=tuple(
            link_states(app[PROVIDERS]) + link_states({p.name: p for p in app.get(USSD_LINKS, [])})
        )
        if app[BACKGROUND]
        else (),
    )


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        ok = await request.app[STORAGE].ping()
    except Exception:
        ok = False
    if not ok:
        return web.json_response({"status": "unavailable", "database": False}, status=503)
    body: dict[str, object] = {"status": "ready", "database": True}
    try:
        body["sms"] = (await sms_state(request.app)).as_json()
    except Exception:  # the database answered a ping and then not: still serving hops
        body["sms"] = None
    return web.json_response(body)


def setup(app: web.Application) -> None:
    edge.add(app, "GET", "/healthz", healthz)
    edge.add(app, "GET", "/readyz", readyz)
