"""`GET /metrics` in the Prometheus text format: request counts by route and status, USSD hops by
dialect and outcome, and gauges read from the database at scrape time (outbox by status,
active sessions), so every process of a cluster reports the shared queue the same way."""

from __future__ import annotations

from aiohttp import web

from gateway.appkeys import STORAGE
from gateway.web import edge
from gateway.web.counters import METRICS

OUTBOX_STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


async def metrics(request: web.Request) -> web.Response:
    own = request.app[METRICS]
    m = own.combine() if own.combine is not None else own
    lines = [
        "# HELP dargah_http_requests_total HTTP requests by method, route and status.",
        "# TYPE dargah_http_requests_total counter",
    ]
    for (method, route, status), n in sorted(m.requests.items()):
        lines.append(
            f'dargah_http_requests_total{{method="{method}",route="{_label(route)}",'
            f'status="{status}"}} {n}'
        )
    lines += [
        "# HELP dargah_ussd_hops_total USSD hops answered, by dialect and outcome.",
        "# TYPE dargah_ussd_hops_total counter",
    ]
    for (dialect, outcome), n in sorted(m.hops.items()):
        lines.append(f'dargah_ussd_hops_total{{dialect="{dialect}",outcome="{outcome}"}} {n}')
    counts = await request.app[STORAGE].counts()
    lines += [
        "# HELP dargah_outbox_messages Outbox messages by status.",
        "# TYPE dargah_outbox_messages gauge",
    ]
    for state in OUTBOX_STATUSES:
        lines.append(
            f'dargah_outbox_messages{{status="{state}"}} {counts.get("outbox_" + state, 0)}'
        )
    lines += [
        "# HELP dargah_ussd_sessions_active USSD sessions waiting for the caller's next answer.",
        "# TYPE dargah_ussd_sessions_active gauge",
        f"dargah_ussd_sessions_active {counts.get('sessions_active', 0)}",
    ]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8",
                        headers={"Cache-Control": "no-store"})  # fmt: skip


def setup(app: web.Application) -> None:
    edge.add(app, "GET", "/metrics", metrics)
