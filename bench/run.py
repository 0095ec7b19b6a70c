"""The benchmark runner behind `make bench` (`python -m bench`).

USSD hop: wrk drives 3-hop Africa's Talking sessions (bench/ussd.lua) at 64 connections against
  a  the ceiling: a bare aiohttp handler that parses the form and answers `CON hi`, on the
     gateway's event loop (uvloop); a0 the same on asyncio's own loop, for comparison; a2 two
     such processes on the port (SO_REUSEPORT)
  b  the same 4-screen menu on the npm library ussd-menu-builder, its session store in Redis
     (started here as its users deploy it: its own port, appendonly on); b0 the same with its
     session store in memory; b2 two processes (node's cluster module)
  c  dargah, `python run.py serve`, every hop committed to SQLite (synchronous=NORMAL: a crash
     of the process loses nothing answered, a power cut the last second) before its answer, a
     worker per core;
     c1w one worker
The headline compares like with like: c1/a1, c2/a2, c1/b1, c2/b2 (1 or 2 processes each).
then profiles dargah under the same load with py-spy, probes the outbox step, and measures
growth (1,000 vs 1,000,000 stored sessions; memory per 10,000 live sessions).

The measured section of bench/RESULTS.md (between its bench markers) is rewritten; the raw
numbers go to bench/out/latest.json. Installs what is missing: wrk (apt), the peer's node_modules
(npm), Redis (apt; always a server of its own for the run), py-spy (pip).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from bench import growth, micro, outbox, smpp
from bench.common import (
    BENCH,
    OUT,
    PEER,
    ROOT,
    Server,
    WrkResult,
    combine,
    ensure_apt,
    free_port,
    gateway_server,
    run_quiet,
    say,
    timed,
    wrk,
)
from bench.profile import start_py_spy, summarise

RESULTS = BENCH / "RESULTS.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
PROFILE_RATE_HZ = 200
WORKERS = os.cpu_count() or 1  # c runs as it would be deployed here: a worker per core
# Experiments on the unchanged gateway (bench/variant.py): what a recommendation would buy.
# Each design choice undone from outside (bench/variant.py), measured beside the gateway as it is.
EXPERIMENTS = {
    "c0": "thread-per-statement,no-group-commit",
    "c1": "no-group-commit",
    "c2": "asyncio-loop",
    "c3": "no-heap-freeze",
    "c4": "json-state",
}


# ---------------------------------------------------------------- prerequisites


def ensure_redis(workdir: Path) -> Server:
    """A Redis of the run's own on a free loopback port, as the peer's users deploy it: its
    append-only file on (fsync every second, Redis's default when AOF is on), not a shared
    instance whose other clients would weigh on it."""
    binary = ensure_apt("redis-server", "redis-server")
    if binary is None:
        raise RuntimeError("redis-server is missing and could not be installed")
    port = free_port()
    cmd = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
           "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(workdir)]  # fmt: skip
    return Server("redis", cmd, port).start()


def ensure_peer() -> str:
    node = ensure_apt("node", "nodejs")
    if node is None:
        raise RuntimeError("node is missing and could not be installed")
    if not (PEER / "node_modules" / "ussd-menu-builder").is_dir():
        npm = ensure_apt("npm", "npm")
        if npm is None or not run_quiet(
            [npm, "install", "--no-audit", "--no-fund"], timeout_s=300, cwd=PEER
        ):
            raise RuntimeError("npm install in bench/peer failed")
    return node


def ensure_py_spy() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    found = shutil.which("py-spy") or (str(candidate) if candidate.exists() else None)
    if found:
        return found
    run_quiet([sys.executable, "-m", "pip", "install", "--quiet", "py-spy"], timeout_s=300)
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


def version(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "?"


def machine(wrk_bin: str, node: str) -> dict[str, str]:
    mem = "?"
    cpu = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    from aiohttp import __version__ as aiohttp_version

    redis_version = version(["redis-server", "--version"])
    m = re.search(r"v=(\S+)", redis_version)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": f"{os.cpu_count()} ({cpu})",
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "aiohttp": aiohttp_version,
        "sqlite": sqlite3.sqlite_version,
        "node": version([node, "--version"]),
        "wrk": version([wrk_bin, "--version"]).split(" [")[0],
        "redis": m.group(1) if m else redis_version,
    }


# ---------------------------------------------------------------- the hop benchmark


def _targets(node: str, workdir: Path, redis_port: int) -> dict[str, Server]:
    """The servers compared by the hop benchmark, each on its own loopback port."""

    def ceiling(name: str, *loop: str) -> Server:
        port = free_port()
        return Server(
            name, [sys.executable, "-m", "bench.ceiling", "--port", str(port), *loop], port
        )

    def peer(name: str, store: str, *more: str) -> Server:
        port = free_port()
        cmd = [node, "menu.js", "--port", str(port), "--store", store, "--redis-port",
               str(redis_port), *more]  # fmt: skip
        return Server(name, cmd, port, cwd=PEER)

    return {
        "a": ceiling("ceiling"),
        "a0": ceiling("ceiling-asyncio", "--loop", "asyncio"),
        "a2": ceiling("ceiling-2", "--processes", "2"),
        "b": peer("peer-redis", "redis"),
        "b0": peer("peer-memory", "memory"),
        "b2": peer("peer-redis-2", "redis", "--workers", "2"),
        # c as deployed on this machine: one worker per core (GATEWAY_WORKERS), one SQLite file.
        "c": gateway_server(
            "dargah", workdir / "dargah.db", free_port(), GATEWAY_WORKERS=str(WORKERS)
        ),
        # One worker: what one process does, the base of the profile.
        "c1w": gateway_server("dargah-1", workdir / "one.db", free_port(), GATEWAY_WORKERS="1"),
    }


def _experiments(workdir: Path) -> dict[str, Server]:
    """The unchanged gateway, one worker, beside each variant of it (bench/variant.py)."""
    servers = {
        "c1x": gateway_server("dargah-1x", workdir / "c1x.db", free_port(), GATEWAY_WORKERS="1")
    }
    for key, variant in EXPERIMENTS.items():
        servers[key] = gateway_server(
            f"dargah-{variant}", workdir / f"{key}.db", free_port(), variant, GATEWAY_WORKERS="1"
        )
    return servers


def in_rounds(
    wrk_bin: str,
    servers: dict[str, Server],
    seconds: float,
    warm_s: float,
    rounds: int,
    then: Callable[[], None] = lambda: None,
) -> dict[str, list[WrkResult]]:
    """The servers all up (an idle one costs nothing), each warmed, then `rounds` rounds in
    which each gets `seconds / rounds` of wrk in turn: a slow phase of the shared machine falls
    on every target alike, where one long run each let it fall on whichever ran then. `then`
    runs before they stop."""
    runs: dict[str, list[WrkResult]] = {key: [] for key in servers}
    with contextlib.ExitStack() as up:
        for server in servers.values():
            up.enter_context(server)
            wrk(wrk_bin, "warm-up", server.port, warm_s)
        each = max(1, round(seconds / rounds))  # wrk takes whole seconds
        order = list(servers.items())
        for n in range(1, rounds + 1):
            with timed(f"round {n} of {rounds}"):
                # Rotated each round, so what one server leaves behind (a checkpoint, the dirty
                # pages of its WAL) does not always fall on the same next one.
                for key, server in order[n - 1 :] + order[: n - 1]:
                    runs[key].append(r := wrk(wrk_bin, server.name, server.port, each))
                    say(
                        f"  {server.name}: {r.rps:,.0f} req/s  p50 {r.p50_ms:.1f}  "
                        f"p99 {r.p99_ms:.1f}  errors {r.errors}  bad {r.bad}"
                    )
        then()
    return runs


def hop_benchmark(
    wrk_bin: str,
    node: str,
    redis_port: int,
    workdir: Path,
    seconds: float,
    warm_s: float,
    profile_s: float,
    variants: bool,
    rounds: int,
) -> dict[str, Any]:
    """The targets in interleaved rounds (`in_rounds`); then, apart, so that the writing of five
    more gateways does not fall on them, the experiments in rounds of their own beside a fresh
    unchanged worker (c1x)."""
    targets = _targets(node, workdir, redis_port)
    profiles: dict[str, str] = {}

    def profile_one() -> None:
        with timed("profile"):
            profiles["c1w"] = profile(wrk_bin, targets["c1w"], profile_s, "dargah")

    runs = in_rounds(wrk_bin, targets, seconds, warm_s, rounds, then=profile_one)
    if variants:
        runs.update(in_rounds(wrk_bin, _experiments(workdir), seconds, warm_s, rounds))
    sessions = growth.count_sessions(workdir / "dargah.db")
    with timed("outbox"):
        outbox_result = outbox.run()
        o = outbox_result
        say(f"  outbox: {o.get('sms_per_s')} SMS/s, {o.get('duplicates')} twice")
    with timed("smpp"):
        smpp_result = smpp.run()
        say(f"  smpp: {smpp_result.get('sms_per_s')} SMS/s through one bind")
    results = {key: combine(key, got) for key, got in runs.items()}
    return {
        "results": results,
        "rounds": runs,
        "profiles": profiles,
        "outbox": outbox_result,
        "smpp": smpp_result,
        "rows": sessions,
    }


def profile(wrk_bin: str, server: Server, seconds: float, name: str) -> str:
    py_spy = ensure_py_spy() if seconds > 0 else None
    if not py_spy:
        return "(py-spy unavailable: not profiled)"
    raw = OUT / f"profile-{name}.txt"
    raw.unlink(missing_ok=True)
    spy = start_py_spy(py_spy, server.pid, seconds, raw, PROFILE_RATE_HZ)
    time.sleep(0.5)
    under = wrk(wrk_bin, f"{name} under py-spy", server.port, seconds)
    try:
        spy.wait(seconds + 30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait(5)
    if not raw.exists():
        return "(py-spy wrote nothing: not profiled)"
    prof = summarise(raw, seconds, PROFILE_RATE_HZ, under.requests)
    return (
        f"py-spy {PROFILE_RATE_HZ} Hz, {seconds:g} s, `--nonblocking --threads`, under the same "
        f"wrk load ({under.rps:,.0f} req/s while sampled; {under.requests:,} hops). "
        f"Raw stacks: `bench/out/{raw.name}`.\n\n" + prof.to_markdown()
    )


# ---------------------------------------------------------------- the report


def _ratio(x: float, y: float) -> str:
    return f"{x / y:.2f}" if y else "n/a"


def _round_ratio(rounds: dict[str, list[WrkResult]], x: str, y: str) -> str:
    """The median of the rounds' ratios, with their range: each taken minutes apart at most."""
    got = [a.rps / b.rps for a, b in zip(rounds[x], rounds[y], strict=True) if b.rps]
    if not got:
        return "n/a"
    if len(got) == 1:
        return f"{got[0]:.2f}"
    return f"{statistics.median(got):.2f} ({min(got):.2f}–{max(got):.2f})"


def report(
    info: dict[str, str],
    args: argparse.Namespace,
    hop: dict[str, Any] | None,
    grow: dict[str, Any] | None,
    cost: dict[str, float] | None,
) -> str:
    lines: list[str] = []
    w = lines.append
    command = " ".join(["python -m bench", *sys.argv[1:]])
    w(f"Measured {info['date']} by `make bench` (`{command}`).\n\n")
    w("| machine | |\n| --- | --- |\n")
    for k in ("cpus", "memory", "os", "python", "aiohttp", "sqlite", "node", "wrk", "redis"):
        w(f"| {k} | {info[k]} |\n")
    rounds = max(1, args.rounds)
    w(
        f"\nwrk: `wrk -t2 -c64 -d{max(1, round(args.duration / rounds))}s --timeout 5s "
        "-s bench/ussd.lua "
        f"http://127.0.0.1:PORT/ussd/africastalking -- TAG`, one target at a time, in {rounds} "
        f"rounds: every server up and warmed ({args.warm:g} s of wrk each) first, then each "
        "target in turn in every round, the order rotated by one each round. Requests/s are "
        "over all rounds, each latency percentile the median of the rounds'; ratios are the "
        "median of the rounds' ratios (their range in brackets). wrk's two threads share the "
        f"machine's {os.cpu_count()} cores with the server under test.\n"
    )
    if hop:
        res: dict[str, WrkResult] = hop["results"]
        per: dict[str, list[WrkResult]] = hop["rounds"]

        def ratio(x: str, y: str) -> str:
            return _round_ratio(per, x, y)

        names = {
            "a": "a: bare aiohttp, parses the form, `CON hi` (uvloop, as the gateway)",
            "a0": "a0: the same on asyncio's own loop",
            "a2": "a2: the same, 2 processes (SO_REUSEPORT)",
            "b": "b: ussd-menu-builder + Redis (appendonly)",
            "b0": "b0: ussd-menu-builder, in-memory store",
            "b2": "b2: ussd-menu-builder + Redis, 2 processes (cluster)",
            "c": f"c: dargah, {WORKERS} workers, each hop committed to SQLite before its answer",
            "c1w": "c, 1 worker (one process)",
        }
        w(
            "\n| target | requests/s | p50 ms | p90 ms | p99 ms | max ms | requests | errors "
            "| bad bodies | load avg before |\n"
        )
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
        for key, label in names.items():
            r = res[key]
            w(
                f"| {label} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p90_ms:.1f} | {r.p99_ms:.1f} | "
                f"{r.max_ms:.1f} | {r.requests:,} | {r.errors} | {r.bad} | {r.load_before} |\n"
            )

        def judged(x: str, y: str, target: float) -> str:
            got = [a.rps / b.rps for a, b in zip(per[x], per[y], strict=True) if b.rps]
            met = bool(got) and statistics.median(got) >= target
            return f"| {ratio(x, y)} | ≥ {target:g} | {'met' if met else 'not met'} |\n"

        w(
            "\nHeadline, like against like (1 process against 1, 2 against 2):\n\n"
            "| ratio (requests/s) | measured | target | |\n| --- | ---: | --- | --- |\n"
        )
        w("| c1/a1: dargah, 1 worker / bare aiohttp, 1 process " + judged("c1w", "a", 0.6))
        w(
            f"| c2/a2: dargah, {WORKERS} workers / bare aiohttp, 2 processes "
            + judged("c", "a2", 0.6)
        )
        w(
            "| c1/b1: dargah, 1 worker / ussd-menu-builder + Redis, 1 process "
            + judged("c1w", "b", 1.0)
        )
        w(
            f"| c2/b2: dargah, {WORKERS} workers / ussd-menu-builder + Redis, 2 processes "
            + judged("c", "b2", 1.0)
        )
        w(
            "\nThe older rows, for comparison with earlier runs (c/a and c/b compare 2 workers "
            "with 1 process):\n"
        )
        w("\n| ratio (requests/s) | measured | target |\n| --- | ---: | --- |\n")
        w(f"| c/a | {ratio('c', 'a')} | ≥ 0.6 |\n")
        w(f"| c/a0 (the ceiling on asyncio's loop) | {ratio('c', 'a0')} | |\n")
        w(f"| c/b | {ratio('c', 'b')} | ≥ 1.0 |\n")
        w(f"| c/b0 | {ratio('c', 'b0')} | stretch |\n")
        w(f"| c p99 (worst round) | {max(r.p99_ms for r in per['c']):.1f} ms | < 50 ms |\n")
        w(f"| c, 1 worker / a (one process each) | {ratio('c1w', 'a')} | |\n")
        w(f"| c / c, 1 worker | {ratio('c', 'c1w')} | |\n")
        w(f"| a/a0 (uvloop / asyncio's loop, bare aiohttp) | {ratio('a', 'a0')} | |\n")
        w("\n| requests/s by round | " + " | ".join(f"{n}" for n in range(1, rounds + 1)))
        w(" |\n| --- |" + " ---: |" * rounds + "\n")
        for key, got in per.items():
            w(f"| {key} | " + " | ".join(f"{r.rps:,.0f}" for r in got) + " |\n")
        w(
            f"\nEvery response was checked to start with `CON `/`END ` "
            f"(bad bodies: {sum(r.bad for r in res.values())}); dargah's file held "
            f"{hop['rows']:,} session rows after the run.\n"
        )
        experiments = [k for k in EXPERIMENTS if k in res]
        if experiments:
            w(
                "\nExperiments (bench/variant.py: one worker of the unchanged gateway with one "
                "thing changed from outside, same SQL, same WAL file, same durability), in rounds "
                "of their own after the targets', beside c1x, one worker of the unchanged "
                "gateway; /a and /b pair their rounds with the targets' rounds of the same "
                "number, minutes earlier:\n\n"
                "| experiment | requests/s | p50 ms | p99 ms | errors | bad | vs c1x | /a "
                "| /b |\n"
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
            )
            for key in ["c1x", *experiments]:
                r = res[key]
                what = EXPERIMENTS.get(key, "the gateway as it is")
                w(
                    f"| {key}: {what} | {r.rps:,.0f} | {r.p50_ms:.1f} | "
                    f"{r.p99_ms:.1f} | {r.errors} | {r.bad} | ×{ratio(key, 'c1x')} | "
                    f"{ratio(key, 'a')} | {ratio(key, 'b')} |\n"
                )
        titles = {"c1w": "one dargah worker as it is"}
        for key, text in hop["profiles"].items():
            w(f"\n### Profile: {titles.get(key, key)}\n\n")
            w(text.rstrip() + "\n")
        o = hop["outbox"]
        w(
            "\n### Outbox\n\n"
            f"{o.get('notifications', 0):,} notifications posted to `POST /v1/notifications` "
            f"(1,000 recipients a request) in {o.get('api_seconds')} s "
            f"({o.get('api_per_s')} accepted/s); all at the fake Kavenegar (50 ms an answer, "
            f"{o.get('provider_calls')} `sms/sendarray` calls) after {o.get('total_seconds')} s: "
            f"**{o.get('sms_per_s')} SMS/s** (target ≥ 2,000), "
            f"{o.get('delivered_to_fake', 0):,} arrived, {o.get('duplicates')} twice, "
            f"{int(str(o.get('notifications', 0))) - int(str(o.get('delivered_to_fake', 0)))} "
            "lost.\n"
        )
        sm = hop.get("smpp", {})
        if sm.get("status") == "measured":
            w(
                "\n### SMPP: one bind\n\n"
                f"{sm.get('notifications', 0):,} notifications through one SMPP bind (window 64, "
                "no throughput cap) to the Net::SMPP test SMSC, which answers each `submit_sm` "
                f"at once, after {sm.get('total_seconds')} s: **{sm.get('sms_per_s')} SMS/s** "
                f"({sm.get('submit_sm_per_s')} `submit_sm`/s, {sm.get('submit_sm')} in all), "
                f"{sm.get('delivered_to_smsc', 0):,} arrived, {sm.get('duplicates')} twice; the "
                f"HTTP provider row above: {o.get('sms_per_s')} SMS/s.\n"
            )
        else:
            w(f"\n### SMPP: one bind\n\nNot measured: {sm.get('reason', 'not run')}.\n")
    if cost:
        w(
            "\n### One hop's SQL, alone (bench/micro.py, 2,000 sequential hops, WAL, "
            "synchronous=NORMAL)\n\n| path | µs |\n| --- | ---: |\n"
            f"| aiosqlite: one round trip (`SELECT 1`) | {cost['aiosqlite_round_trip_us']} |\n"
            "| aiosqlite: the gateway's hop (execute, fetchone, BEGIN, upsert, COMMIT) | "
            f"{cost['aiosqlite_hop_us']} |\n"
            f"| sqlite3 on the calling thread: the same hop | {cost['direct_hop_us']} |\n"
            "| sqlite3: the upsert alone, 64 sessions per commit (group commit), per session | "
            f"{cost['direct_grouped_write_us']} |\n"
        )
    if grow:
        w("\n### Growth\n\n")
        w(
            "| stored sessions (+ as many loans) | db MB | fill s | req/s at 64 conn | p50 ms | "
            "p99 ms | 1 conn p50 ms | 1 conn p99 ms | errors |\n"
        )
        w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
        for p in grow["points"]:
            lo, si = p.loaded, p.single
            w(
                f"| {p.stored:,} | {p.db_mb} | {p.fill_s} | {lo.rps:,.0f} | {lo.p50_ms:.1f} | "
                f"{lo.p99_ms:.1f} | {si.p50_ms:.2f} | {si.p99_ms:.2f} | {lo.errors + si.errors} |\n"
            )
        m = grow["memory"]
        w(
            f"\nMemory: VmRSS {m.rss_before_kb / 1024:.1f} MB after warm-up, "
            f"{m.rss_after_kb / 1024:.1f} MB with {m.sessions:,} more live sessions waiting on "
            f"the main menu (driven in {m.drive_s} s): **{m.per_10k_mb:.2f} MB per 10,000 live "
            "sessions** (the state lives in SQLite, not in the process).\n"
        )
    return "".join(lines)


def write_results(section: str) -> None:
    body = f"{BEGIN}\n{section.rstrip()}\n{END}"
    if RESULTS.exists():
        text = RESULTS.read_text(encoding="utf-8")
        if BEGIN in text and END in text:
            head, _, rest = text.partition(BEGIN)
            _, _, tail = rest.partition(END)
            RESULTS.write_text(head + body + tail, encoding="utf-8")
            return
        RESULTS.write_text(text.rstrip() + "\n\n" + body + "\n", encoding="utf-8")
        return
    RESULTS.write_text(f"# Benchmarks\n\n{body}\n", encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=15, help="seconds of wrk per target")
    parser.add_argument("--rounds", type=int, default=3, help="the duration split into rounds")
    parser.add_argument("--warm", type=float, default=3, help="seconds of warm-up per target")
    parser.add_argument("--profile", type=float, default=10, help="py-spy seconds (0: skip)")
    parser.add_argument("--growth-seconds", type=float, default=8)
    parser.add_argument("--growth-sizes", default="1000,1000000")
    parser.add_argument("--skip-hop", action="store_true")
    parser.add_argument("--skip-growth", action="store_true")
    parser.add_argument("--skip-variants", action="store_true", help="no experiment rows")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)

    started = time.monotonic()
    OUT.mkdir(exist_ok=True)
    wrk_bin = ensure_apt("wrk", "wrk")
    if wrk_bin is None:
        say("wrk is missing and could not be installed")
        return 1
    node = ensure_peer()
    workdir = Path(tempfile.mkdtemp(prefix="dargah-bench-"))
    redis = ensure_redis(workdir)
    info = machine(wrk_bin, node)
    say(f"machine: {info}")
    hop: dict[str, Any] | None = None
    grow: dict[str, Any] | None = None
    cost: dict[str, float] | None = None
    try:
        if not args.skip_hop:
            hop = hop_benchmark(
                wrk_bin,
                node,
                redis.port,
                workdir,
                args.duration,
                args.warm,
                args.profile,
                not args.skip_variants,
                max(1, args.rounds),
            )
        with timed("micro"):
            cost = micro.run()
        say(f"  storage call cost: {cost}")
        if not args.skip_growth:
            sizes = tuple(int(s) for s in args.growth_sizes.split(","))
            with timed("growth"):
                grow = growth.run(wrk_bin, workdir, args.growth_seconds, sizes)
    finally:
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    section = report(info, args, hop, grow, cost)
    print("\n" + section)
    raw = {"machine": info, "hop": hop, "growth": grow, "micro": cost, "args": vars(args)}
    (OUT / "latest.json").write_text(
        json.dumps(_jsonable(raw), indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    (OUT / "latest.md").write_text(section, encoding="utf-8")
    if not args.no_write:
        write_results(section)
        say(f"wrote {RESULTS.relative_to(ROOT)}")
    say(f"total {time.monotonic() - started:.0f} s")
    return 0
