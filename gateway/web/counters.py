"""The process's request and hop counters, which `/metrics` reports (gateway/metrics.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from aiohttp import web

# The route label, and the route name, of the fallback that answers a path no route serves.
UNMATCHED = "unmatched"


class Metrics:
    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.hops: Counter[tuple[str, str]] = Counter()
        # Set in a worker of several (gateway/metrics_share.py): these counters and the others'.
        self.combine: Callable[[], Metrics] | None = None

    def hop(self, dialect: str, outcome: str) -> None:
        self.hops[(dialect, outcome)] += 1


METRICS = web.AppKey("metrics", Metrics)
