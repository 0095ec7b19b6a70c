"""One `/metrics` for all the workers of a gateway (`GATEWAY_WORKERS`).

A scrape reaches whichever worker the kernel picks, and each worker counts only what it answered:
alone, its counters would jump between workers and look to Prometheus like resets. So every worker
writes its counters, once a second, to a file of its own in a folder its supervisor made for this
run (`DARGAH_METRICS_DIR`), and a scrape adds up every worker's file, the answering worker's own
written first. A worker started again goes on from its file, so the sums only go down by
what a worker that died had not yet written (under a second of its traffic), which Prometheus
reads as a reset. The supervisor removes the folder when it stops cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from gateway.web.counters import METRICS, Metrics

log = logging.getLogger(__name__)

DIR_ENV = "DARGAH_METRICS_DIR"
SHARE_EVERY_S = 1.0
_SUFFIX = ".json"


def write_counters(metrics: Metrics, path: Path) -> None:
    """Replaced whole (a temporary file renamed over it), so a reader never sees half of it."""
    data = {
        "requests": [[*labels, n] for labels, n in metrics.requests.items()],
        "hops": [[*labels, n] for labels, n in metrics.hops.items()],
        "sms": [[*labels, n] for labels, n in metrics.sms.items()],
        "histograms": {name: dict(h.series.items()) for name, h in metrics.histograms().items()},
    }
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, path)


def add_counters(total: Metrics, path: Path) -> None:
    """A worker's last counters, added to `total`; an unreadable or malformed file adds nothing."""
    found = Metrics()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        for method, route, status, n in data.get("requests", []):
            found.requests[(str(method), str(route), int(status))] += int(n)
        for dialect, outcome, n in data.get("hops", []):
            found.hops[(str(dialect), str(outcome))] += int(n)
        for event, label, n in data.get("sms", []):
            found.sms[(str(event), str(label))] += int(n)
        histograms = found.histograms()
        for name, series in data.get("histograms", {}).items():
            for label, row in series.items():
                histograms[name].add(str(label), row)
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        return
    total.requests.update(found.requests)
    total.hops.update(found.hops)
    total.sms.update(found.sms)
    mine = total.histograms()
    for name, histogram in found.histograms().items():
        for label, row in histogram.series.items():
            mine[name].add(label, row)


def all_workers(own: Metrics, folder: Path, own_file: Path) -> Metrics:
    """Every worker's counters from the files alone, this worker's written first: a sum that
    never goes down between two scrapes, whichever workers answer them."""
    write_counters(own, own_file)
    total = Metrics()
    for path in sorted(folder.glob(f"*{_SUFFIX}")):
        add_counters(total, path)
    return total


def share_counters(
    worker: int, folder: Path
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    """A worker's `cleanup_ctx`: writes its counters every second and lets `/metrics` add the
    others'."""

    @contextlib.asynccontextmanager
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        metrics = app[METRICS]
        own_file = folder / f"worker-{worker}{_SUFFIX}"
        add_counters(metrics, own_file)  # a worker started again goes on from its last counts
        metrics.combine = lambda: all_workers(metrics, folder, own_file)

        async def share() -> None:
            while True:
                await asyncio.sleep(SHARE_EVERY_S)
                try:
                    write_counters(metrics, own_file)
                except OSError as exc:
                    log.warning("could not share this worker's counters: %s", exc)

        task = asyncio.get_running_loop().create_task(share(), name="metrics-share")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx
