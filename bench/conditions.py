"""Real conditions (`make bench` after the hop benchmark; `make bench-full` with the long rows):
the gateway as deployed (`run.py serve`, one worker unless said), each row beside its base in the
same rounds, so that a slow phase of the shared machine falls on both alike.

  s1  SQLite, the outbox empty; the dispatcher on, sending to a fake Kavenegar (50 ms an answer)
  q1  the same with 200,000 notices queued for it
  f1  SQLite with GATEWAY_SQLITE_SYNCHRONOUS=full: every answered hop synced to disk
  p1  PostgreSQL, one process; p2 two (GATEWAY_WORKERS=2); s2 SQLite with two workers
  i1  inbound SMS (bench/inbound.lua: Kavenegar callbacks, a status question each, its reply
      queued) against a gateway like s1

Then apart: the WAL's largest size while the rows ran (sampled), the resident memory a worker
gains per 100,000 live sessions, and PostgreSQL's hop rate with 1,000 and with 100,000 stored
sessions (`--full`, as in bench-full: 1,000,000).

    python -m bench.conditions [--duration 12] [--rounds 3] [--backlog 200000] [--full]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import growth
from bench.common import (
    BENCH,
    HOST,
    OUT,
    ROOT,
    Server,
    WrkResult,
    combine,
    ensure_apt,
    free_port,
    gateway_server,
    rss_kb,
    say,
    timed,
    wrk,
)
from bench.fake_kavenegar import KEY
from bench.scale import _execute, find_postgres
from sessions.sealing import new_seal_key

RESULTS = BENCH / "RESULTS.md"
BEGIN, END = "<!-- bench-conditions:begin -->", "<!-- bench-conditions:end -->"
INBOUND_LUA = BENCH / "inbound.lua"
INBOUND_PATH = "/sms/kavenegar/inbound"
CONNECTIONS = 64  # wrk's, for every row


def pg_pools(processes: int) -> str:
    """The pools of busy processes: a hop holds a lock connection until its row commits, so each
    process gets one for each connection of the load it takes (wrk's 64 spread over them);
    queries hold theirs a statement or a commit at a time."""
    return f"pool_size=10&lock_pool_size={CONNECTIONS // processes}"


@dataclass
class Row:
    key: str
    label: str
    server: Server | _Group
    path: str = "/ussd/africastalking"
    script: Path | None = None
    # Started for each of its turns and stopped after: PostgreSQL rows, whose pools (42
    # connections a process) would not all fit the server's 100 connections at once.
    transient: bool = False


class _Group:
    """A server and what it needs beside it (the fake provider), started and stopped together."""

    def __init__(self, main: Server, *beside: Server) -> None:
        self.main = main
        self.beside = beside
        self.name = main.name
        self.port = main.port

    @property
    def pid(self) -> int:
        return self.main.pid

    def __enter__(self) -> _Group:
        for s in self.beside:
            s.start()
        self.main.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.main.stop()
        for s in self.beside:
            s.stop()


def _kavenegar_env(fake_port: int) -> dict[str, str]:
    return {
        "GATEWAY_SMS_PROVIDER": "kavenegar",
        "GATEWAY_KAVENEGAR_API_KEY": KEY,
        "GATEWAY_KAVENEGAR_BASE_URL": f"http://{HOST}:{fake_port}",
    }


def _fake(name: str) -> Server:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.fake_kavenegar", "--port", str(port), "--delay", "0.05"]
    return Server(name, cmd, port)


def _sqlite(name: str, db: Path, **env: str) -> _Group:
    fake = _fake(f"fake-{name}")
    return _Group(gateway_server(name, db, free_port(), **_kavenegar_env(fake.port), **env), fake)


def migrate(db: Path) -> None:
    with gateway_server("conditions-migrate", db, free_port()):
        pass  # created and migrated on start


def fill_backlog(db: Path, count: int) -> float:
    """`count` bulk notices due now, as `POST /v1/notifications` would have queued them."""
    began = time.monotonic()
    now = time.time()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO outbox (id, recipient, template_id, lang, params, body, priority, "
            "status, source, due_at, created_at, updated_at, expires_at) "
            "VALUES (?, ?, 'registration_received', 'fa', '{}', ?, 2, 'queued', 'bench', "
            "?, ?, ?, ?)",
            (
                (
                    f"backlog-{i:07d}",
                    f"0913{i:07d}",
                    "ثبت‌نام شما دریافت شد.",
                    now,
                    now,
                    now,
                    now + 7 * 86_400,
                )
                for i in range(count)
            ),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.monotonic() - began


class WalWatch:
    """Samples the size of each SQLite file's WAL every 50 ms on a thread; the largest seen."""

    def __init__(self, dbs: dict[str, Path]) -> None:
        self.dbs = dbs
        self.largest = dict.fromkeys(dbs, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for key, db in self.dbs.items():
                with contextlib.suppress(FileNotFoundError):
                    size = Path(f"{db}-wal").stat().st_size
                    self.largest[key] = max(self.largest[key], size)

    def __enter__(self) -> WalWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)


@contextlib.contextmanager
def pg_schema(url: str, processes: int = 1) -> Iterator[str]:
    """A fresh schema for one row, dropped after; the URL that selects it, with the pools of
    busy processes (`pg_pools`; the default 8 + 16 leave room for four processes on one
    server)."""
    schema = f"bench_{secrets.token_hex(4)}"
    asyncio.run(_execute(url, f"CREATE SCHEMA {schema}"))
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}search_path={schema}&{pg_pools(processes)}"
    finally:
        asyncio.run(_execute(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


def rounds(
    wrk_bin: str, rows: list[Row], seconds: float, warm_s: float, count: int
) -> dict[str, list[WrkResult]]:
    """bench.run.in_rounds for rows that may drive another path with another script."""
    runs: dict[str, list[WrkResult]] = {row.key: [] for row in rows}

    def measure(row: Row, each: float) -> WrkResult:
        if row.transient:  # warmed longer: its pools grow and prepare their statements
            with row.server:
                wrk(wrk_bin, "warm-up", row.server.port, 3 * warm_s, path=row.path,
                    script=row.script)  # fmt: skip
                return wrk(
                    wrk_bin, row.label, row.server.port, each, path=row.path, script=row.script
                )
        return wrk(wrk_bin, row.label, row.server.port, each, path=row.path, script=row.script)

    with contextlib.ExitStack() as up:
        for row in rows:
            if not row.transient:
                up.enter_context(row.server)
                wrk(wrk_bin, "warm-up", row.server.port, warm_s, path=row.path, script=row.script)
        each = max(1, round(seconds / count))
        for n in range(1, count + 1):
            with timed(f"round {n} of {count}"):
                for row in rows[n - 1 :] + rows[: n - 1]:
                    runs[row.key].append(r := measure(row, each))
                    say(
                        f"  {row.key}: {r.rps:,.0f} req/s  p50 {r.p50_ms:.1f}  p99 "
                        f"{r.p99_ms:.1f}  errors {r.errors}  bad {r.bad}"
                    )
    return runs


def _log(row: Row) -> Path:
    return (row.server.main if isinstance(row.server, _Group) else row.server).log_path


def logged_errors(row: Row) -> int:
    """ERROR lines in the row's server log: a failure answered with a polite screen is still a
    200 that starts `END `, which wrk counts as good."""
    try:
        return _log(row).read_text(errors="replace").count(" ERROR ")
    except FileNotFoundError:
        return 0


async def _first_hops(port: int, start: int, count: int, concurrency: int = 64) -> int:
    """The first hops of `count` sessions, each of its own caller, each left waiting on the main
    menu; how many were answered with a screen."""
    import aiohttp

    url = f"http://{HOST}:{port}/ussd/africastalking"
    numbers = iter(range(start, start + count))
    ok = 0

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal ok
        for i in numbers:
            form = {"sessionId": f"mem-{i}", "serviceCode": "*4455#",
                    "phoneNumber": f"0919{i:07d}", "networkCode": "43211", "text": ""}  # fmt: skip
            async with http.post(url, data=form) as resp:
                ok += resp.status == 200 and (await resp.text()).startswith("CON ")

    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return ok


def memory_per_100k(workdir: Path, sessions: int) -> dict[str, float]:
    """A worker's resident memory before and after `sessions` more live sessions (each left
    waiting on the main menu), scaled to 100,000."""
    port = free_port()
    with gateway_server("conditions-memory", workdir / "memory.db", port) as server:
        asyncio.run(_first_hops(port, 0, 2_000))  # warmed: caches and pools at their size
        time.sleep(0.5)
        before = rss_kb(server.pid)
        began = time.monotonic()
        ok = asyncio.run(_first_hops(port, 2_000, sessions))
        took = time.monotonic() - began
        time.sleep(0.5)
        after = rss_kb(server.pid)
    return {
        "sessions": ok,
        "rss_before_mb": round(before / 1024, 1),
        "rss_after_mb": round(after / 1024, 1),
        "drive_s": round(took, 1),
        "per_100k_mb": round((after - before) / 1024 * 100_000 / max(1, ok), 2),
    }


async def _pg_fill(url: str, count: int) -> float:
    """`count` stored sessions (ended and open, a minute old), by COPY."""
    import asyncpg  # type: ignore[import-untyped]

    from gateway.storage.postgres.database import pool_sizes

    began = time.monotonic()
    now = time.time()
    conn = await asyncpg.connect(pool_sizes(url)[0])
    try:
        records = (
            (
                f"africastalking:fill-{i:08d}",
                f"0910{i:07d}",
                growth.STATE,
                "active" if i % 5 == 0 else "ended",
                "3*1",
                growth.PROMPT,
                0,
                now - 60 - (i % 100),
                now - (i % 100),
            )
            for i in range(count)
        )
        await conn.copy_records_to_table(
            "ussd_sessions",
            records=records,
            columns=[
                "key",
                "msisdn",
                "state",
                "status",
                "last_hop_key",
                "last_reply_text",
                "last_reply_end",
                "created_at",
                "updated_at",
            ],
        )
        await conn.execute("ANALYZE ussd_sessions")
    finally:
        await conn.close()
    return time.monotonic() - began


def pg_growth(wrk_bin: str, url: str, sizes: tuple[int, ...], seconds: float) -> list[Any]:
    """PostgreSQL's hop rate on a schema holding each size of stored sessions."""
    points = []
    for size in sizes:
        with pg_schema(url) as schema_url:
            env = {"GATEWAY_DATABASE_URL": schema_url, "GATEWAY_SEAL_KEY": new_seal_key()}
            port = free_port()
            with gateway_server(f"pg-growth-{size}", Path("/nonexistent"), port, **env):
                pass  # migrated
            took = asyncio.run(_pg_fill(schema_url, size))
            say(f"PostgreSQL: {size:,} sessions stored in {took:.1f} s")
            with gateway_server(f"pg-growth-{size}", Path("/nonexistent"), port, **env):
                wrk(wrk_bin, "warm-up", port, 2)
                got = wrk(wrk_bin, f"postgres, {size:,} stored", port, seconds)
        say(f"  {size:,}: {got.rps:,.0f} req/s  p99 {got.p99_ms:.1f}")
        points.append({"stored": size, "fill_s": round(took, 1), "result": got.as_dict()})
    return points


def _ratio(runs: dict[str, list[WrkResult]], x: str, y: str) -> tuple[float, str]:
    got = [a.rps / b.rps for a, b in zip(runs[x], runs[y], strict=True) if b.rps]
    if not got:
        return 0.0, "n/a"
    mid = statistics.median(got)
    return mid, f"{mid:.2f} ({min(got):.2f}–{max(got):.2f})"


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def report(data: dict[str, Any], args: argparse.Namespace, command: str) -> str:
    runs: dict[str, list[WrkResult]] = data["runs"]
    res = {k: combine(k, v) for k, v in runs.items()}
    labels: dict[str, str] = data["labels"]
    w: list[str] = []
    w.append(
        f"Measured {data['date']} by `{command}` on {data['cpus']} CPUs, shared by wrk (2 "
        f"threads), the gateways, PostgreSQL {data.get('pg', '')}and the fake providers"
        f"{'; the machine was shared with other work during the run' if args.shared else ''}. "
        f"Every row ran in {args.rounds} rounds of {max(1, round(args.duration / args.rounds))} "
        "s beside the others, the order rotated each round; a ratio is the median of the "
        "rounds' ratios (their range in brackets), each percentile the median of the rounds'.\n\n"
    )
    w.append(
        "| row | requests/s | p50 ms | p90 ms | p99 ms | max ms | requests | errors | bad "
        "| errors logged |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    )
    logged = data.get("logged_errors", {})
    for key, r in res.items():
        w.append(
            f"| {key}: {labels[key]} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p90_ms:.1f} | "
            f"{r.p99_ms:.1f} | {r.max_ms:.1f} | {r.requests:,} | {r.errors} | {r.bad} | "
            f"{logged.get(key, 0)} |\n"
        )
    w.append("\n| target | measured | target | |\n| --- | ---: | --- | --- |\n")
    if "q1" in runs:
        ratio, text = _ratio(runs, "q1", "s1")
        p99 = res["q1"].p99_ms
        w.append(
            f"| backlog ({data['backlog']:,} queued) / empty outbox, hops/s | {text} | ≥ 0.9 | "
            f"{_met(ratio >= 0.9)} |\n"
        )
        w.append(f"| backlog p99 at 64 connections | {p99:.1f} ms | < 50 ms | {_met(p99 < 50)} |\n")
        w.append(f"| (empty outbox p99, same rounds) | {res['s1'].p99_ms:.1f} ms | | |\n")
    if "p1" in runs:
        ratio, text = _ratio(runs, "p1", "s1")
        w.append(f"| PostgreSQL / SQLite, 1 process | {text} | ≥ 0.5 | {_met(ratio >= 0.5)} |\n")
    if "p2" in runs and "s2" in runs:
        _, text = _ratio(runs, "p2", "s2")
        w.append(f"| PostgreSQL / SQLite, 2 processes | {text} | | |\n")
    if "i1" in runs:
        ratio, text = _ratio(runs, "i1", "s1")
        w.append(f"| inbound SMS / hops | {text} | ≥ 0.5 | {_met(ratio >= 0.5)} |\n")
    if "f1" in runs:
        _, text = _ratio(runs, "f1", "s1")
        w.append(
            f"| synchronous FULL / NORMAL, hops/s (the price of every hop on disk) | {text} | | |\n"
        )
    wal = data["wal_peak_mb"]
    if wal:
        peak = max(wal.values())
        w.append(
            f"| WAL's largest size under load (any row) | {peak:.1f} MB | < 64 MB | "
            f"{_met(peak < 64)} |\n"
        )
    growth_pg = data.get("pg_growth") or []
    if len(growth_pg) >= 2:
        lo, hi = growth_pg[0], growth_pg[-1]
        ratio = hi["result"]["rps"] / lo["result"]["rps"] if lo["result"]["rps"] else 0.0
        w.append(
            f"| PostgreSQL {hi['stored']:,} / {lo['stored']:,} stored sessions, hops/s | "
            f"{ratio:.2f} | ≥ 0.9 | {_met(ratio >= 0.9)} |\n"
        )
    if wal:
        sizes = ", ".join(f"{k} {v:.1f} MB" for k, v in wal.items())
        w.append(f"\nWAL's largest size by row (sampled every 50 ms): {sizes}.\n")
    if growth_pg:
        w.append("\n| PostgreSQL, stored sessions | fill s | requests/s | p50 ms | p99 ms |\n")
        w.append("| ---: | ---: | ---: | ---: | ---: |\n")
        for p in growth_pg:
            r = p["result"]
            w.append(
                f"| {p['stored']:,} | {p['fill_s']} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | "
                f"{r['p99_ms']:.1f} |\n"
            )
    mem = data.get("memory")
    if mem:
        w.append(
            f"\nMemory: one worker's VmRSS {mem['rss_before_mb']} MB after warm-up, "
            f"{mem['rss_after_mb']} MB with {mem['sessions']:,} more live sessions waiting on the "
            f"main menu (driven in {mem['drive_s']} s): **{mem['per_100k_mb']} MB per 100,000 "
            "live sessions** (their state lives in the database; what grows is the process's "
            "caches and allocator).\n"
        )
    return "".join(w)


def write_results(section: str) -> None:
    body = f"{BEGIN}\n## Real conditions\n\n{section.rstrip()}\n{END}"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        RESULTS.write_text(head + body + tail, encoding="utf-8")
    else:
        RESULTS.write_text(text.rstrip() + "\n\n" + body + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.conditions", description=__doc__)
    parser.add_argument("--duration", type=float, default=12, help="seconds of wrk per row")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm", type=float, default=2)
    parser.add_argument("--backlog", type=int, default=200_000, help="notices queued for q1")
    parser.add_argument("--memory-sessions", type=int, default=100_000)
    parser.add_argument("--pg-sizes", default="1000,100000", help="stored sessions on PostgreSQL")
    parser.add_argument("--full", action="store_true", help="1,000,000 sessions on PostgreSQL")
    parser.add_argument("--only", default="", help="rows to run, e.g. s1,q1")
    parser.add_argument("--shared", action="store_true", help="say the machine was shared")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.full:
        args.pg_sizes = "1000,1000000"
    command = "python -m bench.conditions " + " ".join(sys.argv[1:] if argv is None else argv)
    wrk_bin = ensure_apt("wrk", "wrk")
    if wrk_bin is None:
        say("wrk is missing and could not be installed")
        return 1
    OUT.mkdir(exist_ok=True)
    url = find_postgres()
    if url is None:
        say("no PostgreSQL answers (DARGAH_BENCH_DATABASE_URL): its rows are left out")
    only = set(args.only.split(",")) - {""}
    data: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": len(__import__("os").sched_getaffinity(0)),
        "backlog": args.backlog,
    }
    with (
        tempfile.TemporaryDirectory(prefix="dargah-conditions-") as tmp,
        contextlib.ExitStack() as st,
    ):
        work = Path(tmp)
        dbs = {k: work / f"{k}.db" for k in ("s1", "q1", "f1", "i1", "s2")}
        for db in dbs.values():
            migrate(db)
        took = fill_backlog(dbs["q1"], args.backlog)
        say(f"{args.backlog:,} notices queued in {took:.1f} s")
        rows = [
            Row("s1", "SQLite, 1 worker, outbox empty", _sqlite("s1", dbs["s1"])),
            Row("q1", f"the same, {args.backlog:,} notices queued", _sqlite("q1", dbs["q1"])),
            Row(
                "f1",
                "SQLite, 1 worker, synchronous FULL",
                _sqlite("f1", dbs["f1"], GATEWAY_SQLITE_SYNCHRONOUS="full"),
            ),
            Row(
                "i1",
                "inbound SMS, SQLite, 1 worker",
                _sqlite("i1", dbs["i1"]),
                INBOUND_PATH,
                INBOUND_LUA,
            ),
            Row("s2", "SQLite, 2 workers", _sqlite("s2", dbs["s2"], GATEWAY_WORKERS="2")),
        ]
        if url is not None:
            for n in (1, 2):
                schema_url = st.enter_context(pg_schema(url, n))
                env = {"GATEWAY_DATABASE_URL": schema_url, "GATEWAY_SEAL_KEY": new_seal_key()}
                if n == 2:
                    env["GATEWAY_WORKERS"] = "2"
                rows.append(
                    Row(
                        f"p{n}",
                        f"PostgreSQL, {n} process{'es' if n > 1 else ''} ({pg_pools(n)})",
                        _sqlite(f"p{n}", work / f"p{n}-unused.db", **env),
                        transient=True,
                    )
                )
            data["pg"] = asyncio.run(_pg_version(url)) + " "
        rows = [r for r in rows if not only or r.key in only]
        for row in rows:  # the logs of earlier runs are appended to: each row's from now on
            _log(row).unlink(missing_ok=True)
        data["labels"] = {r.key: r.label for r in rows}
        with WalWatch({k: v for k, v in dbs.items() if k in data["labels"]}) as watch:
            data["runs"] = rounds(wrk_bin, rows, args.duration, args.warm, max(1, args.rounds))
        data["wal_peak_mb"] = {k: round(v / 2**20, 1) for k, v in watch.largest.items()}
        data["logged_errors"] = {r.key: logged_errors(r) for r in rows}
        if args.memory_sessions and (not only or "memory" in only):
            with timed("memory"):
                data["memory"] = memory_per_100k(work, args.memory_sessions)
        if url is not None and args.pg_sizes:
            sizes = tuple(int(s) for s in args.pg_sizes.split(","))
            with timed("PostgreSQL growth"):
                data["pg_growth"] = pg_growth(wrk_bin, url, sizes, 8)
    section = report(data, args, command)
    print("\n" + section)
    raw = {**data, "runs": {k: [r.as_dict() for r in v] for k, v in data["runs"].items()}}
    (OUT / "conditions.json").write_text(json.dumps(raw, indent=2, default=str), encoding="utf-8")
    if not args.no_write:
        write_results(section)
        say(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


async def _pg_version(url: str) -> str:
    import asyncpg

    from gateway.storage.postgres.database import pool_sizes

    conn = await asyncpg.connect(pool_sizes(url)[0], timeout=3)
    try:
        full = str(await conn.fetchval("SELECT version()"))
    finally:
        await conn.close()
    return full.split()[1]


if __name__ == "__main__":
    sys.exit(main())
