"""Scale-out: USSD hops/s of 1 against 2 gateway processes sharing one PostgreSQL database
(`make bench-scale`, also run by `make bench`).

The processes listen on one port with SO_REUSEPORT, so the kernel spreads wrk's 64 connections
over them the way a load balancer would; every hop of a session may land on either process (the
state is in PostgreSQL, the per-session lock is a PostgreSQL advisory lock). The same wrk load as
the hop benchmark (bench/ussd.lua, 3-hop sessions). For reference, one process on SQLite under
the same launcher. Results go to their own marked section of bench/RESULTS.md and to
bench/out/scale.json.

    python -m bench.scale [--duration 15] [--warm 3] [--processes 1,2]
    python -m bench.scale serve --port P     # one gateway process, SO_REUSEPORT (used above)

PostgreSQL: DARGAH_BENCH_DATABASE_URL, else postgres@ / root@ 127.0.0.1:5432/test (the gateway's
`pool_size` / `lock_pool_size` URL parameters apply); the run uses a fresh schema, dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.common import (
    BENCH,
    HOST,
    OUT,
    Server,
    WrkResult,
    ensure_apt,
    free_port,
    say,
    wrk,
)
from gateway.storage.postgres.database import pool_sizes
from sessions.sealing import new_seal_key

RESULTS = BENCH / "RESULTS.md"
BEGIN, END = "<!-- bench-scale:begin -->", "<!-- bench-scale:end -->"
CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
)
READY = "dargah-scale ready"


# ---------------------------------------------------------------- one process (the child)


def serve(port: int) -> int:
    from aiohttp import web

    from gateway.app import create_app
    from gateway.settings import Settings
    from gateway.web import logs

    settings = Settings()
    logs.configure(settings.log_level, settings.log_json)
    web.run_app(
        create_app(settings),
        host=HOST,
        port=port,
        reuse_port=True,
        access_log_class=logs.AccessLogger,
        print=lambda _line: print(f"{READY} pid={os.getpid()}", flush=True),
    )
    return 0


# ---------------------------------------------------------------- PostgreSQL


async def _execute(url: str, sql: str) -> bool:
    try:
        conn = await asyncpg.connect(pool_sizes(url)[0], timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
    return True


def find_postgres() -> str | None:
    configured = os.environ.get("DARGAH_BENCH_DATABASE_URL")
    for url in [configured] if configured else CANDIDATES:
        if asyncio.run(_execute(url, "SELECT 1")):
            return url
    return None


# ---------------------------------------------------------------- the measurement


def _wait_ready(logs: list[Path], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(READY in p.read_text(errors="replace") for p in logs if p.exists()):
            return
        time.sleep(0.1)
    raise RuntimeError(f"gateways not ready: {[p.name for p in logs]}")


def measure(
    wrk_bin: str, name: str, count: int, env: dict[str, str], seconds: float, warm_s: float
) -> WrkResult:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="dargah-scale-") as logs:
        return _measure(wrk_bin, name, count, env, seconds, warm_s, port, Path(logs))


def _measure(
    wrk_bin: str,
    name: str,
    count: int,
    env: dict[str, str],
    seconds: float,
    warm_s: float,
    port: int,
    log_dir: Path,
) -> WrkResult:
    servers = [
        Server(
            f"{name}-{i}",
            [sys.executable, "-m", "bench.scale", "serve", "--port", str(port)],
            port,
            env={"GATEWAY_LOG_LEVEL": "WARNING", "GATEWAY_SMS_PROVIDER": "console", **env},
            log_dir=log_dir,
        )
        for i in range(count)
    ]
    with ExitStack() as stack:
        for server in servers:
            stack.enter_context(server)
        _wait_ready([s.log_path for s in servers])
        wrk(wrk_bin, "warm-up", port, warm_s)
        result = wrk(wrk_bin, name, port, seconds)
    say(
        f"  {name}: {result.rps:,.0f} req/s  p50 {result.p50_ms:.1f} ms  "
        f"p99 {result.p99_ms:.1f} ms  errors {result.errors}  bad {result.bad}"
    )
    return result


def report(rows: dict[str, WrkResult], args: argparse.Namespace, pg_version: str) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `make bench-scale` "
        f"(`python -m bench.scale --duration {args.duration:g} --warm {args.warm:g}`) on "
        f"{os.cpu_count()} CPUs, shared by wrk (2 threads), the gateway processes and "
        f"{pg_version}.\n\n",
        "wrk: the hop benchmark's load (`-t2 -c64`, bench/ussd.lua, 3-hop Africa's Talking "
        "sessions); the processes share one port by SO_REUSEPORT, so hops of one session "
        "land on either process.\n\n",
        "| gateway | requests/s | p50 ms | p90 ms | p99 ms | max ms | requests | errors | bad |"
        " vs 1 process |\n",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    ]
    base = rows.get("postgres-1")
    for name, r in rows.items():
        ratio = f"×{r.rps / base.rps:.2f}" if base and base.rps and name != "sqlite-1" else ""
        lines.append(
            f"| {name.replace('-', ', ')} process{'es' if not name.endswith('-1') else ''} | "
            f"{r.rps:,.0f} | {r.p50_ms:.1f} | {r.p90_ms:.1f} | {r.p99_ms:.1f} | {r.max_ms:.1f} | "
            f"{r.requests:,} | {r.errors} | {r.bad} | {ratio} |\n"
        )
    return "".join(lines)


def write_results(section: str) -> None:
    body = f"{BEGIN}\n## Scale-out: 1 vs 2 processes on PostgreSQL\n\n{section.rstrip()}\n{END}"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        RESULTS.write_text(head + body + tail, encoding="utf-8")
    else:
        RESULTS.write_text(text.rstrip() + "\n\n" + body + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        p = argparse.ArgumentParser(prog="python -m bench.scale serve")
        p.add_argument("--port", type=int, required=True)
        return serve(p.parse_args(argv[1:]).port)
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--duration", type=float, default=15, help="seconds of wrk per target")
    parser.add_argument("--warm", type=float, default=3, help="seconds of warm-up per target")
    parser.add_argument("--processes", default="1,2", help="process counts on PostgreSQL")
    parser.add_argument("--skip-sqlite", action="store_true", help="no SQLite reference row")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)

    url = find_postgres()
    if url is None:
        say("bench.scale: no PostgreSQL answers (set DARGAH_BENCH_DATABASE_URL): skipped")
        return 0
    wrk_bin = ensure_apt("wrk", "wrk")
    if wrk_bin is None:
        say("wrk is missing and could not be installed")
        return 1
    OUT.mkdir(exist_ok=True)
    rows: dict[str, WrkResult] = {}
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory(prefix="dargah-scale-") as workdir:
            env = {"GATEWAY_DB": str(Path(workdir) / "scale.db")}
            rows["sqlite-1"] = measure(wrk_bin, "sqlite-1", 1, env, args.duration, args.warm)
    for count in (int(n) for n in args.processes.split(",")):
        schema = f"bench_{secrets.token_hex(4)}"
        asyncio.run(_execute(url, f"CREATE SCHEMA {schema}"))
        try:
            sep = "&" if "?" in url else "?"
            env = {
                "GATEWAY_DATABASE_URL": f"{url}{sep}search_path={schema}",
                "GATEWAY_SEAL_KEY": new_seal_key(),
            }
            name = f"postgres-{count}"
            rows[name] = measure(wrk_bin, name, count, env, args.duration, args.warm)
        finally:
            asyncio.run(_execute(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    pg_version = asyncio.run(_version(url))
    section = report(rows, args, pg_version)
    print("\n" + section)
    raw: dict[str, Any] = {k: r.as_dict() for k, r in rows.items()}
    (OUT / "scale.json").write_text(json.dumps(raw, indent=2), encoding="utf-8")
    if not args.no_write:
        write_results(section)
        say(f"wrote {RESULTS.name}")
    return 0


async def _version(url: str) -> str:
    conn = await asyncpg.connect(pool_sizes(url)[0], timeout=3)
    try:
        full = str(await conn.fetchval("SELECT version()"))
    finally:
        await conn.close()
    return " ".join(full.split()[:2])


if __name__ == "__main__":
    sys.exit(main())
