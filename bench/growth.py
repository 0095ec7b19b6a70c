"""Growth: hop latency with 1,000 and with 1,000,000 stored sessions (and as many loan records),
and the gateway's resident memory per 10,000 live sessions.

The gateway migrates its own file once; it is then stopped, the rows are bulk-inserted with
sqlite3 in its schema, and it is started again on the filled file.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    HOST,
    USSD_PATH,
    WrkResult,
    free_port,
    gateway_server,
    rss_kb,
    say,
    wrk,
)

PROMPT = "کد رهگیری ۸ رقمی را وارد کنید:\n۰ بازگشت ۰۰ خانه"
STATE = json.dumps(
    {
        "node": "loans.ask_code",
        "lang": "fa",
        "data": {},
        "stack": ["home", "loans.start"],
        "pages": [PROMPT],
        "page": 0,
        "tries": 0,
        "ending": False,
        "saved": None,
    },
    ensure_ascii=False,
    separators=(",", ":"),
)
STAGES = ("submitted", "agency_review", "bank_review", "approved", "paid", "rejected")


def fill(db: Path, start: int, stop: int) -> float:
    """Rows start..stop-1 of sessions and loans; callers 0910… never collide with wrk's."""
    began = time.monotonic()
    now = time.time()
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO ussd_sessions (key, msisdn, state, status, last_hop_key, "
            "last_reply_text, last_reply_end, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
            (
                (
                    f"africastalking:fill-{i:08d}",
                    f"0910{i:07d}",
                    STATE,
                    "active" if i % 5 == 0 else "ended",
                    "3*1",
                    PROMPT,
                    now - 60 - (i % 100),
                    now - (i % 100),  # recent: the clean-up loop leaves them during the run
                )
                for i in range(start, stop)
            ),
        )
        conn.executemany(
            "INSERT INTO loans (tracking_code, national_id, mobile, stage, bank, branch, amount, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, 'بانک رفاه', 'شعبه مرکزی', ?, ?, ?)",
            (
                (
                    f"{20_000_000 + i}",
                    f"{1_000_000_000 + i}",
                    f"0910{i:07d}",
                    STAGES[i % len(STAGES)],
                    1_000_000 * (1 + i % 50),
                    now - 86_400,
                    now - 3_600,
                )
                for i in range(start, stop)
            ),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.monotonic() - began


def count_sessions(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT count(*) FROM ussd_sessions").fetchone()
        return int(row[0])
    finally:
        conn.close()


@dataclass
class GrowthPoint:
    stored: int
    db_mb: float
    fill_s: float
    loaded: WrkResult  # 64 connections
    single: WrkResult  # 1 connection: the hop's own latency, no queueing


@dataclass
class Memory:
    sessions: int
    rss_before_kb: int
    rss_after_kb: int
    drive_s: float

    @property
    def per_10k_mb(self) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / 1024 * 10_000 / self.sessions


async def _drive(port: int, sessions: int, concurrency: int, deadline_s: float) -> int:
    """First hops of `sessions` distinct sessions: each is left on the main menu, waiting."""
    url = f"http://{HOST}:{port}{USSD_PATH}"
    ok = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(sessions):
        queue.put_nowait(i)
    tag = int(time.time()) % 1000

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal ok
        while not queue.empty():
            i = queue.get_nowait()
            form = {
                "sessionId": f"mem-{tag}-{i}",
                "serviceCode": "*4455#",
                "phoneNumber": f"0919{tag:03d}{i:04d}",
                "networkCode": "43211",
                "text": "",
            }
            async with http.post(url, data=form) as resp:
                body = await resp.text()
                if resp.status == 200 and body.startswith("CON "):
                    ok += 1

    timeout = aiohttp.ClientTimeout(total=deadline_s)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await asyncio.wait_for(
            asyncio.gather(*(worker(http) for _ in range(concurrency))), deadline_s
        )
    return ok


def run(wrk_bin: str, workdir: Path, seconds: float, sizes: tuple[int, ...]) -> dict[str, Any]:
    db = workdir / "growth.db"
    port = free_port()
    with gateway_server("growth-migrate", db, port):
        pass  # created and migrated on start
    points: list[GrowthPoint] = []
    filled = 0
    for size in sizes:
        took = fill(db, filled, size)
        filled = size
        say(f"filled {size:,} sessions and loans in {took:.1f} s")
        with gateway_server(f"growth-{size}", db, port):
            wrk(wrk_bin, "warm-up", port, 2)
            loaded = wrk(wrk_bin, f"dargah, {size:,} stored", port, seconds)
            single = wrk(wrk_bin, f"dargah, {size:,} stored, 1 conn", port, 5, 1, 1)
        points.append(
            GrowthPoint(size, round(db.stat().st_size / 2**20, 1), round(took, 1), loaded, single)
        )
        say(
            f"  {size:,}: {loaded.rps:.0f} req/s p99 {loaded.p99_ms} ms; 1 conn p50 {single.p50_ms}"
        )

    mem_db = workdir / "memory.db"
    sessions = 10_000
    with gateway_server("growth-memory", mem_db, port) as server:
        wrk(wrk_bin, "warm-up", port, 3)
        time.sleep(0.5)
        before = rss_kb(server.pid)
        began = time.monotonic()
        ok = asyncio.run(_drive(port, sessions, 64, 120))
        took = time.monotonic() - began
        time.sleep(0.5)
        after = rss_kb(server.pid)
    memory = Memory(ok, before, after, round(took, 1))
    say(
        f"memory: {before} kB -> {after} kB for {ok:,} live sessions "
        f"({memory.per_10k_mb:.2f} MB/10k)"
    )
    return {"points": points, "memory": memory, "stored_after": count_sessions(mem_db)}
