"""What one storage call costs on this machine: the same SQL through aiosqlite (a thread hand-off
per call) and through sqlite3 on the calling thread, on a WAL file like the gateway's.

    python -m bench.micro
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import aiosqlite

from bench.growth import STATE

N = 2000
DDL = (
    "CREATE TABLE s (key TEXT PRIMARY KEY, msisdn TEXT NOT NULL, state TEXT NOT NULL, "
    "status TEXT NOT NULL, updated_at REAL NOT NULL)"
)
UPSERT = (
    "INSERT INTO s (key, msisdn, state, status, updated_at) VALUES (?, ?, ?, 'active', ?) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"
)
SELECT = "SELECT key, msisdn, state, status, updated_at FROM s WHERE key = ?"


def _pragmas(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


async def _aiosqlite(path: Path) -> dict[str, float]:
    conn = await aiosqlite.connect(path, isolation_level=None)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    began = time.perf_counter()
    for _ in range(N):
        await conn.execute("SELECT 1")
    trip = (time.perf_counter() - began) / N
    began = time.perf_counter()
    for i in range(N):
        # the gateway's hop: get (execute + fetchone), then BEGIN, upsert, COMMIT
        cur = await conn.execute(SELECT, (f"k{i}",))
        await cur.fetchone()
        await conn.execute("BEGIN IMMEDIATE")
        await conn.execute(UPSERT, (f"k{i}", "09120000000", STATE, time.time()))
        await conn.execute("COMMIT")
    hop = (time.perf_counter() - began) / N
    await conn.close()
    return {"round_trip_us": trip * 1e6, "hop_us": hop * 1e6}


def _direct(path: Path) -> dict[str, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    _pragmas(conn)
    began = time.perf_counter()
    for i in range(N):
        conn.execute(SELECT, (f"d{i}",)).fetchone()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(UPSERT, (f"d{i}", "09120000000", STATE, time.time()))
        conn.execute("COMMIT")
    hop = (time.perf_counter() - began) / N
    batch = 64
    began = time.perf_counter()
    for start in range(0, N, batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            UPSERT,
            [(f"g{i}", "09120000000", STATE, time.time()) for i in range(start, start + batch)],
        )
        conn.execute("COMMIT")
    grouped = (time.perf_counter() - began) / N
    conn.close()
    return {"hop_us": hop * 1e6, "grouped_write_us": grouped * 1e6}


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="dargah-micro-") as tmp:
        path = Path(tmp) / "m.db"
        conn = sqlite3.connect(path)
        conn.execute(DDL)
        conn.close()
        a = asyncio.run(_aiosqlite(path))
        d = _direct(path)
    return {
        "aiosqlite_round_trip_us": round(a["round_trip_us"], 1),
        "aiosqlite_hop_us": round(a["hop_us"], 1),
        "direct_hop_us": round(d["hop_us"], 1),
        "direct_grouped_write_us": round(d["grouped_write_us"], 1),
    }


if __name__ == "__main__":
    print(run())
