"""Two checkouts of the gateway side by side: wrk's rounds alternate between them.

    git worktree add /tmp/before <commit>
    python -m bench.ab /tmp/before . [--workers 2] [--duration 6] [--rounds 6]

Each checkout serves from its own folder (`python run.py serve`, its own SQLite file and port,
GATEWAY_WORKERS as given) under this venv's Python; after a warm-up, each round runs wrk
(bench/ussd.lua, `-t2 -c64`) on one then the other, the order swapped every round, so a slow
phase of the machine falls on both. Prints each round and the median of the per-round ratios
second/first with their range: the figure for "what a change bought".
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import HOST, ensure_apt, free_port, port_open, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=6.0, help="seconds of wrk a round")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    wrk_bin = ensure_apt("wrk", "wrk")
    if wrk_bin is None:
        raise SystemExit("wrk is missing and could not be installed")
    trees = [args.first.resolve(), args.second.resolve()]
    servers: list[tuple[subprocess.Popen[bytes], int]] = []
    with tempfile.TemporaryDirectory() as folder:
        try:
            for i, tree in enumerate(trees):
                port = free_port()
                env = dict(
                    os.environ,
                    GATEWAY_DB=f"{folder}/ab{i}.db",
                    GATEWAY_LOG_LEVEL="WARNING",
                    GATEWAY_SMS_PROVIDER="console",
                    GATEWAY_WORKERS=str(args.workers),
                )
                cmd = [sys.executable, "run.py", "serve", "--host", HOST, "--port", str(port)]
                proc = subprocess.Popen(
                    cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, start_new_session=True
                )
                servers.append((proc, port))
            for proc, port in servers:
                deadline = time.monotonic() + 30
                while not port_open(port):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"the gateway on port {port} did not start")
                    time.sleep(0.2)
                wrk(wrk_bin, "warm", port, 3)
            rps: list[list[float]] = [[], []]
            for r in range(args.rounds):
                for i in (0, 1) if r % 2 == 0 else (1, 0):
                    result = wrk(wrk_bin, f"ab{i}", servers[i][1], args.duration)
                    rps[i].append(result.rps)
                    print(
                        f"round {r + 1} {trees[i]}: {result.rps:,.0f} hops/s, "
                        f"p99 {result.p99_ms} ms, errors {result.errors}, bad {result.bad}",
                        flush=True,
                    )
        finally:
            for proc, _ in servers:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
    ratios = [b / a for a, b in zip(rps[0], rps[1], strict=True)]
    for i, tree in enumerate(trees):
        print(f"{tree}: median {statistics.median(rps[i]):,.0f} hops/s")
    print(
        f"second/first: ×{statistics.median(ratios):.2f} "
        f"({min(ratios):.2f}–{max(ratios):.2f} over {len(ratios)} rounds)"
    )


if __name__ == "__main__":
    main()
