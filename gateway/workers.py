"""Several gateway processes on one port (`GATEWAY_WORKERS`), for the machine's cores.

One Python process serves hops on one core. The supervisor (`run.py serve` with workers > 1)
applies the migrations once, then starts each worker as `run.py serve --worker N`; every worker
binds the same address with SO_REUSEPORT, so the kernel spreads connections over them. Their
state is the shared database (SQLite in WAL, or PostgreSQL), and a session's hops are serialised
across them by the storage's session lock, so any hop may land on any worker.

Worker 0 alone runs the background work (the SMS dispatcher, the inbound poller, status callbacks,
session clean-up), so the provider's rate limit and the callback queue stay as with one process.
A worker that dies is started again (after a pause that grows while it keeps dying); one that exits
with an error during its first seconds has a configuration problem (say, a database it cannot
open), which stops them all.
SIGINT or SIGTERM to the supervisor stops every worker gracefully. `/metrics` counts for all of
them, whichever answers (gateway/web/counters_share.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from gateway.settings import Settings
from gateway.storage import open_storage
from gateway.web.counters_share import DIR_ENV

log = logging.getLogger("gateway.workers")

RUN = Path(__file__).resolve().parent.parent / "run.py"
SUPERVISOR_ENV = "DARGAH_SUPERVISOR_PID"
STARTUP_S = 5.0  # a worker dying sooner than this after its start will die again: give up
STOP_GRACE_S = 10.0
_POLL_S = 0.2
_MAX_PAUSE_S = 30.0


@dataclass
class _Worker:
    index: int
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    deaths: int = 0
    due: float = field(default=0.0)  # when a dead worker is started again
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        # A session of its own: a Ctrl-C at the terminal reaches the supervisor alone, which
        # then stops each worker once.
        cmd = [sys.executable, str(RUN), *self.args]  # our own interpreter, script and arguments
        env = {**os.environ, SUPERVISOR_ENV: str(os.getpid()), **self.env}
        self.proc = subprocess.Popen(cmd, env=env, start_new_session=True)  # noqa: S603
        if "--demo" in self.args:  # the sample records and their key: on the first start only
            self.args = [a for a in self.args if a != "--demo"]
        self.started = time.monotonic()


def port_problem(host: str, port: int) -> str | None:
    """Whether the workers can bind: a probe without SO_REUSEPORT, closed at once, so that a
    port another process (another gateway too) listens on is refused, not shared."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


async def _migrate(settings: Settings) -> None:
    storage = await open_storage(
        settings.resolved_database_url(), sqlite_synchronous=settings.sqlite_synchronous
    )
    await storage.close()


def worker_args(index: int, host: str, port: int, demo: bool) -> list[str]:
    args = ["serve", "--worker", str(index), "--host", host, "--port", str(port)]
    # The sample records are loaded (and their table printed) once, by worker 0.
    return [*args, "--demo"] if demo and index == 0 else args


def supervise(settings: Settings, demo: bool) -> int:
    """Runs `settings.workers` workers until SIGINT/SIGTERM; the exit code of the run."""
    problem = port_problem(settings.host, settings.port)
    if problem is not None:
        print(f"dargah: {problem}", file=sys.stderr)
        return 2
    asyncio.run(_migrate(settings))  # once, before any worker opens the database
    shared = tempfile.mkdtemp(prefix="dargah-metrics-")  # this run's counters, one file a worker
    workers = [
        _Worker(i, worker_args(i, settings.host, settings.port, demo), env={DIR_ENV: shared})
        for i in range(settings.workers)
    ]
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    print(
        f"dargah: {settings.workers} workers on http://{settings.host}:{settings.port}",
        flush=True,
    )
    code = 0
    try:
        for w in workers:
            w.start()
        while not stopping:
            time.sleep(_POLL_S)
            code = _tend(workers)
            if code:
                break
    finally:
        # A worker's dispatcher drains its sends in flight before it exits.
        _stop_all(workers, STOP_GRACE_S + settings.dispatch_drain_s)
        shutil.rmtree(shared, ignore_errors=True)
        for s, handler in previous.items():
            signal.signal(s, handler)
    return code


def _tend(workers: list[_Worker]) -> int:
    """Restarts dead workers when their pause is over; non-zero when one died at start-up."""
    now = time.monotonic()
    for w in workers:
        if w.proc is None:
            if now >= w.due:
                w.start()
            continue
        status = w.proc.poll()
        if status is None:
            continue
        w.proc = None
        if status > 0 and now - w.started < STARTUP_S and w.deaths == 0:
            # An error exit at once (a port it cannot bind, a database it cannot open) would
            # repeat; a signal (killed, out of memory) is not the configuration's fault.
            log.error("worker %d exited with %d during start-up; stopping", w.index, status)
            return status
        w.deaths = w.deaths + 1 if now - w.started < STARTUP_S * 6 else 1
        pause = min(_MAX_PAUSE_S, 0.5 * 2 ** (w.deaths - 1))
        w.due = now + pause
        log.error("worker %d exited with %s; starting it again in %.1f s", w.index, status, pause)
    return 0


def _stop_all(workers: list[_Worker], grace_s: float) -> None:
    live = [w.proc for w in workers if w.proc is not None and w.proc.poll() is None]
    for proc in live:
        proc.send_signal(signal.SIGINT)  # aiohttp's run_app shuts down gracefully on SIGINT
    deadline = time.monotonic() + grace_s
    for proc in live:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def exit_with_supervisor(_app: object) -> AsyncIterator[None]:
    """A worker's `cleanup_ctx`: when its supervisor is gone (killed outright, no chance to stop
    its workers), the worker stops too instead of serving on as an orphan."""
    # The pid the supervisor gave, not getppid() now: it may have died while this one started.
    parent = int(os.environ.get(SUPERVISOR_ENV) or os.getppid())

    async def watch() -> None:
        while True:  # nothing to wait on but the parent's pid: a child is not told
            await asyncio.sleep(1.0)
            if os.getppid() != parent:
                break
        log.error("the supervisor is gone; stopping")
        os.kill(os.getpid(), signal.SIGINT)

    task = asyncio.get_running_loop().create_task(watch(), name="supervisor-watch")
    yield
    task.cancel()
