"""`GET /metrics` in the Prometheus text format (0.0.4), written by `prometheus_client`.

The gateway counts in its own plain counters and histograms (gateway/web/counters.py), which cost
a dictionary increment on the hot path and which several workers add up through their files
(gateway/web/counters_share.py): `prometheus_client`'s own metric objects would take a lock per
increment and its multi-process mode wants a directory of memory-mapped files per process. So a
custom collector turns the summed counters into metric families at scrape time, beside the
gauges read from the shared database (so every node reports the shared queue alike), the SMS
side's state, the verification codes' outcomes, `dargah_build_info` and the library's process
and platform collectors.

Names: `dargah_<area>_<name>_<unit>`; counters end `_total`, durations are `_seconds` histograms.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Iterator, Mapping

from aiohttp import web
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector

from gateway.appkeys import CLOCK, STORAGE
from gateway.routes.health import PROVIDER_STATES, SmsState, sms_state
from gateway.version import VERSION
from gateway.web import edge
from gateway.web.counters import METRICS, Histogram, Metrics
from providers.smpp_link import LINK_STATES
from sessions.services.verify import PURPOSES

OUTBOX_STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed")
VERIFY_OUTCOMES = ("sent", "approved", "expired", "spent", "voided")
SMS_COUNTERS = {
    "sent": ("dargah_sms_sent", "SMS handed to a provider, by provider.", "provider"),
    "retried": (
        "dargah_sms_retried",
        "SMS refused for now and queued again on the backoff curve, by provider.",
        "provider",
    ),
    "failed_over": (
        "dargah_sms_failed_over",
        "SMS refused by a provider marked failing and queued at once for the next, by provider.",
        "provider",
    ),
    "unknown": (
        "dargah_sms_unknown",
        "SMS sends whose answer never came (checked, never resent blind), by provider.",
        "provider",
    ),
    "failed": (
        "dargah_sms_failed",
        "SMS failed for good, by reason: refused (by the provider), expired (its validity "
        "ended, sent or not), sealed (its text could not be opened).",
        "reason",
    ),
    "paused": (
        "dargah_provider_paused",
        "Times a provider was paused for an account fault (credit, key, IP, line).",
        "provider",
    ),
}


def _histogram(name: str, text: str, label: str, histogram: Histogram) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, text, labels=[label])
    bounds = [*map(str, histogram.bounds), "+Inf"]
    for value, row in sorted(histogram.series.items()):
        cumulative, buckets = 0.0, []
        for bound, n in zip(bounds, row[:-1], strict=True):
            cumulative += n
            buckets.append((bound, cumulative))
        family.add_metric([value], buckets, row[-1])
    return family


class GatewayCollector(Collector):
    """One scrape's families, from counters summed over the workers and gauges read before."""

    def __init__(
        self,
        m: Metrics,
        counts: dict[str, int],
        sms: SmsState,
        verified: Mapping[tuple[str, str], int],
        skews: Mapping[str, float] | None = None,
    ) -> None:
        self.m = m
        self.counts = counts
        self.sms = sms
        self.verified = verified
        self.skews = dict(skews or {})

    def collect(self) -> Iterator[Metric]:
        yield from self._counters()
        yield from self._histograms()
        yield from self._gauges()

    def _counters(self) -> Iterable[Metric]:
        m = self.m
        requests = CounterMetricFamily(
            "dargah_http_requests",
            "HTTP requests by method, route and status.",
            labels=["method", "route", "status"],
        )
        for (method, route, status), n in sorted(m.requests.items()):
            requests.add_metric([method, route, str(status)], n)
        yield requests
        hops = CounterMetricFamily(
            "dargah_ussd_hops", "USSD hops answered, by dialect and outcome.",
            labels=["dialect", "outcome"],
        )  # fmt: skip
        for (dialect, outcome), n in sorted(m.hops.items()):
            hops.add_metric([dialect, outcome], n)
        yield hops
        for event, (name, text, label) in SMS_COUNTERS.items():
            family = CounterMetricFamily(name, text, labels=[label])
            for (counted, value), n in sorted(m.sms.items()):
                if counted == event:
                    family.add_metric([value], n)
            yield family
        # Read from the database: the same on every node and worker.
        verifications = CounterMetricFamily(
            "dargah_verifications",
            "Verification codes by purpose and outcome: sent, approved, expired, spent (by wrong "
            "tries), voided (by a resend).",
            labels=["purpose", "outcome"],
        )
        for purpose in PURPOSES:
            for outcome in VERIFY_OUTCOMES:
                verifications.add_metric(
                    [purpose, outcome], self.verified.get((purpose, outcome), 0)
                )
        yield verifications

    def _histograms(self) -> Iterable[Metric]:
        m = self.m
        yield _histogram(
            "dargah_ussd_hop_duration_seconds",
            "Time to answer a USSD hop, by dialect.", "dialect", m.hop_seconds,
        )  # fmt: skip
        yield _histogram(
            "dargah_api_request_duration_seconds",
            "Time to answer a /v1 request, by route.", "route", m.api_seconds,
        )  # fmt: skip
        yield _histogram(
            "dargah_provider_send_duration_seconds",
            "Time of one call to an SMS provider, answered or not, by provider.",
            "provider", m.send_seconds,
        )  # fmt: skip

    def _gauges(self) -> Iterable[Metric]:
        outbox = GaugeMetricFamily(
            "dargah_outbox_messages", "Outbox messages by status.", labels=["status"]
        )
        for state in OUTBOX_STATUSES:
            outbox.add_metric([state], self.counts.get("outbox_" + state, 0))
        yield outbox
        yield GaugeMetricFamily(
            "dargah_ussd_sessions_active",
            "USSD sessions waiting for the caller's next answer.",
            value=self.counts.get("sessions_active", 0),
        )
        states = GaugeMetricFamily(
            "dargah_provider_state",
            "Each SMS provider's state: 1 for the one it is in (active, failing, paused).",
            labels=["provider", "state"],
        )
        for name, provider in sorted(self.sms.providers.items()):
            for state in PROVIDER_STATES:
                states.add_metric([name, state], 1.0 if provider.state == state else 0.0)
        yield states
        links = GaugeMetricFamily(
            "dargah_smpp_link_state",
            "Each SMPP bind's state in this process: 1 for the one it is in (bound, binding, "
            "down).",
            labels=["link", "state"],
        )
        binds = GaugeMetricFamily(
            "dargah_smpp_link_binds", "Successful binds of each SMPP link since start.",
            labels=["link"],
        )  # fmt: skip
        for link in self.sms.links:
            for state in LINK_STATES:
                links.add_metric([link.name, state], 1.0 if link.state == state else 0.0)
            binds.add_metric([link.name], float(link.binds))
        yield links
        yield binds
        # A provider matched by time (sms.ir) whose clock is too far from ours: its lost sends
        # wait, unmatched, until the clocks agree again.
        skewed = GaugeMetricFamily(
            "dargah_provider_clock_skew_alert",
            "1 while an SMS provider's clock (its Date header) is too far from ours to match "
            "lost sends by time: they wait. Alert on it.",
            labels=["provider"],
        )
        skew = GaugeMetricFamily(
            "dargah_provider_clock_skew_seconds",
            "How far an SMS provider's clock is ahead of ours, while too far.",
            labels=["provider"],
        )
        for name in sorted(set(self.sms.providers) | set(self.skews)):
            skewed.add_metric([name], 1.0 if name in self.skews else 0.0)
            if name in self.skews:
                skew.add_metric([name], self.skews[name])
        yield skewed
        yield skew
        yield GaugeMetricFamily(
            "dargah_dispatcher_oldest_due_age_seconds",
            "How long the longest-waiting queued SMS has been due.",
            value=self.sms.oldest_due_age_s,
        )
        yield GaugeMetricFamily(
            "dargah_dispatcher_stuck",
            "1 when an SMS has been due longer than GATEWAY_DISPATCHER_STUCK_AFTER_S while a "
            "provider would take it: no dispatcher is claiming. Alert on it.",
            value=1.0 if self.sms.stuck else 0.0,
        )
        info = GaugeMetricFamily(
            "dargah_build_info", "The gateway's version; always 1.", labels=["version", "python"]
        )
        info.add_metric([VERSION, platform.python_version()], 1.0)
        yield info


async def metrics(request: web.Request) -> web.Response:
    own = request.app[METRICS]
    summed = own.combine() if own.combine is not None else own
    storage = request.app[STORAGE]
    counts = await storage.counts()
    verified = await storage.verification_counts(request.app[CLOCK]())
    registry = CollectorRegistry(auto_describe=False)
    skews = await storage.clock_skews()
    sms = await sms_state(request.app)
    registry.register(GatewayCollector(summed, counts, sms, verified, skews))
    # The answering worker's own process: memory, CPU, open files (process_*), Python's version.
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return web.Response(
        body=generate_latest(registry),
        headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4, "Cache-Control": "no-store"},
    )


def setup(app: web.Application) -> None:
    edge.add(app, "GET", "/metrics", metrics)
