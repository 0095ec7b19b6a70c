"""`GET /metrics` in the Prometheus text format: request counts by route and status, USSD hops by
dialect and outcome, and figures read from the database at scrape time (outbox by status,
active sessions, verification codes by purpose and outcome), so every process of a cluster
reports the shared state the same way."""

from __future__ import annotations

from aiohttp import web

from gateway.appkeys import CLOCK, STORAGE
from gateway.web import edge
from gateway.web.counters import METRICS
from sessions.services.verify import PURPOSES

OUTBOX_STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed")
VERIFY_OUTCOMES = ("sent", "approved", "expired", "spent", "voided")


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
    verified = await request.app[STORAGE].verification_counts(request.app[CLOCK]())
    lines += [
        "# HELP dargah_verifications_total Verification codes by purpose and outcome: sent, "
        "approved, expired, spent (by wrong tries), voided (by a resend).",
        "# TYPE dargah_verifications_total counter",
    ]
    for purpose in PURPOSES:
        for outcome in VERIFY_OUTCOMES:
            n = verified.get((purpose, outcome), 0)
            lines.append(
                f'dargah_verifications_total{{purpose="{purpose}",outcome="{outcome}"}} {n}'
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
