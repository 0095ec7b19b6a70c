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
import contextlib
import statistics
import tempfile
from pathlib import Path

from bench.common import ensure_apt, free_port, gateway_server, tree_cpu_s, wrk


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
    rps: list[list[float]] = [[], []]
    cpu: list[list[float]] = [[], []]
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as running:
        servers = [
            running.enter_context(
                gateway_server(
                    f"ab{i}",
                    Path(folder) / f"ab{i}.db",
                    free_port(),
                    cwd=tree,
                    GATEWAY_WORKERS=str(args.workers),
                )
            )
            for i, tree in enumerate(trees)
        ]
        for server in servers:
            wrk(wrk_bin, "warm", server.port, 3)
        for r in range(args.rounds):
            for i in (0, 1) if r % 2 == 0 else (1, 0):
                used = tree_cpu_s(servers[i].pid)
                result = wrk(wrk_bin, f"ab{i}", servers[i].port, args.duration)
                per_hop = (tree_cpu_s(servers[i].pid) - used) / max(result.requests, 1) * 1e6
                rps[i].append(result.rps)
                cpu[i].append(per_hop)
                print(
                    f"round {r + 1} {trees[i]}: {result.rps:,.0f} hops/s, "
                    f"{per_hop:.1f} µs CPU a hop, p99 {result.p99_ms} ms, "
                    f"errors {result.errors}, bad {result.bad}",
                    flush=True,
                )
    ratios = [b / a for a, b in zip(rps[0], rps[1], strict=True)]
    cpu_ratios = [b / a for a, b in zip(cpu[0], cpu[1], strict=True)]
    for i, tree in enumerate(trees):
        print(
            f"{tree}: median {statistics.median(rps[i]):,.0f} hops/s, "
            f"{statistics.median(cpu[i]):.1f} µs CPU a hop"
        )
    print(
        f"second/first: ×{statistics.median(ratios):.2f} hops/s "
        f"({min(ratios):.2f}–{max(ratios):.2f} over {len(ratios)} rounds), "
        f"×{statistics.median(cpu_ratios):.2f} CPU a hop "
        f"({min(cpu_ratios):.2f}–{max(cpu_ratios):.2f})"
    )


if __name__ == "__main__":
    main()
