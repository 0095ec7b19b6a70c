"""Hops per minute by dialect for the console, from the gateway's own hop counters (every
worker's, where there are several): each look keeps a sample, and the rate is taken over the
span since the oldest sample of the last five minutes."""

from __future__ import annotations

from collections import deque

from gateway.web.counters import Metrics

KEPT_S = 300.0


class HopRate:
    def __init__(self) -> None:
        self._samples: deque[tuple[float, dict[str, int]]] = deque(maxlen=600)

    def per_minute(self, metrics: Metrics, now: float) -> dict[str, float] | None:
        """Hops a minute by dialect since the oldest kept sample; None at the first look."""
        combined = metrics.combine() if metrics.combine is not None else metrics
        totals: dict[str, int] = {}
        for (dialect, _outcome), n in combined.hops.items():
            totals[dialect] = totals.get(dialect, 0) + n
        while self._samples and self._samples[0][0] < now - KEPT_S:
            self._samples.popleft()
        rate = None
        if self._samples and now - self._samples[0][0] >= 1.0:
            then, before = self._samples[0]
            span = now - then
            rate = {
                d: max(0, n - before.get(d, 0)) * 60.0 / span for d, n in sorted(totals.items())
            }
        self._samples.append((now, totals))
        return rate
