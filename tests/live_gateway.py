"""A real gateway process (`python run.py serve`) for tests that kill it, and helpers around it.

The process runs on a free loopback port with its own SQLite file; it is started and waited for
with asyncio, so fake provider servers in the test's own event loop keep answering meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gateway_env(db: Path, port: int, **settings: object) -> dict[str, str]:
    """The environment of a gateway process: no inherited `GATEWAY_*`, these settings instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        {
            "GATEWAY_DB": str(db),
            "GATEWAY_PORT": str(port),
            "GATEWAY_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({f"GATEWAY_{k.upper()}": str(v) for k, v in settings.items()})
    return env


async def run_cli(env: Mapping[str, str], *args: str) -> str:
    """`python run.py ARGS…` to completion; its stdout (a non-zero exit fails the test)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "run.py", *args, cwd=ROOT, env=dict(env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def create_api_key(env: Mapping[str, str], *scopes: str) -> str:
    out = await run_cli(env, "create-api-key", "tests", "--scopes", ",".join(scopes))
    return out.strip().splitlines()[0]


class LiveGateway:
    """One gateway process at a time on a fixed port and database; `start` again after `kill`."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.env = dict(env)
        self.port = int(self.env["GATEWAY_PORT"])
        self.base = f"http://127.0.0.1:{self.port}"
        self.db = Path(self.env["GATEWAY_DB"])
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self, limit_s: float = 20.0) -> None:
        assert self.proc is None, "already running"
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "run.py", "serve", cwd=ROOT, env=self.env,
                stdout=out, stderr=out,
            )  # fmt: skip
        self.starts += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc.returncode is not None:
                    raise AssertionError(f"the gateway exited: {self.log.read_text()[-2000:]}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"{self.base}/readyz") as resp:
                        if resp.status == 200:
                            return
                if loop.time() > deadline:
                    raise AssertionError("the gateway did not become ready")
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs in the gateway."""
        proc, self.proc = self.proc, None
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), timeout=10)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    def tracebacks(self) -> list[str]:
        """Log lines that show an unhandled error in the gateway."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if "Traceback" in line or " 500 " in line]


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A read of the gateway's SQLite file from outside (WAL lets it run beside the writer)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return list(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


def outbox_counts(db: Path) -> dict[str, int]:
    return {
        str(status): int(n)
        for status, n in query(db, "SELECT status, count(*) FROM outbox GROUP BY status")
    }


def session_states(db: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """Every stored USSD session as (key, status, decoded state); a row that is not JSON fails."""
    rows = query(db, "SELECT key, status, state FROM ussd_sessions")
    return [(str(k), str(s), json.loads(state)) for k, s, state in rows]
