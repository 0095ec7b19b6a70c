"""The process's own fast counters and histograms, which `/metrics` exports through a
`prometheus_client` collector (gateway/routes/metrics.py) and several workers add up
(gateway/web/counters_share.py). Counting stays a dictionary increment on the hot path."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Sequence

from aiohttp import web

from providers.stats import Event

# The route label, and the route name, of the fallback that answers a path no route serves.
UNMATCHED = "unmatched"

# Upper bounds in seconds. A hop must answer within an operator's few seconds; an API call is as
# quick; a provider's send may take its whole timeout.
HOP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
API_BUCKETS = HOP_BUCKETS
SEND_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Histogram:
    """Observations by one label: a count per bucket (not cumulative; the last is +Inf), then the
    sum of the values."""

    __slots__ = ("bounds", "series")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.series: dict[str, list[float]] = {}

    def observe(self, seconds: float, label: str) -> None:
        row = self.series.get(label)
        if row is None:
            row = self.series[label] = [0.0] * (len(self.bounds) + 2)
        row[bisect_left(self.bounds, seconds)] += 1
        row[-1] += seconds

    def add(self, label: str, row: Sequence[float]) -> None:
        if len(row) != len(self.bounds) + 2:
            raise ValueError("a histogram row of other buckets")
        mine = self.series.setdefault(label, [0.0] * len(row))
        for i, value in enumerate(row):
            mine[i] += float(value)


class Metrics:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.hops: Counter[tuple[str, str]] = Counter()
        self.hop_seconds = Histogram(HOP_BUCKETS)  # by dialect
        self.api_seconds = Histogram(API_BUCKETS)  # by route pattern
        self.send_seconds = Histogram(SEND_BUCKETS)  # by provider
        self.sms: Counter[tuple[str, str]] = Counter()  # (event, provider or reason)
        # Set in a worker of several (gateway/web/counters_share.py): these and the others'.
        self.combine: Callable[[], Metrics] | None = None

    def hop(self, dialect: str, outcome: str, seconds: float) -> None:
        self.hops[(dialect, outcome)] += 1
        self.hop_seconds.observe(seconds, dialect)

    # The dispatcher's counts (providers/stats.py).
    def count(self, event: Event, label: str, n: int = 1) -> None:
        self.sms[(event, label)] += n

    def send_time(self, provider: str, seconds: float) -> None:
        self.send_seconds.observe(seconds, provider)

    def histograms(self) -> dict[str, Histogram]:
        return {"hop_seconds": self.hop_seconds, "api_seconds": self.api_seconds,
                "send_seconds": self.send_seconds}  # fmt: skip


METRICS = web.AppKey("metrics", Metrics)
