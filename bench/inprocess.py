"""CPU per hop in process: aiohttp's own request handler fed from memory, no sockets, no wrk.

    python -m bench.inprocess [--hops 12800] [--runs 5]

Each target is an aiohttp app behind `web.AppRunner`; 64 connections get one request each, in
turn, through a transport that writes to memory, and the next 64 leave when all are answered,
so the gateway's group commit sees the batches it sees under load. The same 3-hop Africa's
Talking sessions as bench/ussd.lua (main menu, loan status, the tracking-code prompt), on a
fresh SQLite file. Only this process's CPU time is counted: the kernel's sockets and the load
generator are out, which makes small changes to the hop's Python visible that wrk's noise
hides. Targets run interleaved, each in a fresh process; the median of the runs is printed.

    a  the ceiling (bench/ceiling.py), c  the gateway (`create_app`, as one worker serves it)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

CONNECTIONS = 64
TEXTS = ("", "3", "3%2A1")


class MemoryTransport(asyncio.Transport):
    """What aiohttp's protocol needs of a transport; each write is one answer."""

    def __init__(self, answered: Any) -> None:
        super().__init__()
        self._answered = answered
        self._closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return ("127.0.0.1", 40000)
        if name == "sockname":
            return ("127.0.0.1", 8080)
        return default

    def write(self, data: Any) -> None:
        self._answered(bytes(data))

    def writelines(self, chunks: Any) -> None:
        self._answered(b"".join(chunks))

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def _request(session: str, caller: str, text: str) -> bytes:
    body = (
        f"sessionId={session}&serviceCode=%2A123%23&phoneNumber=%2B98{caller}"
        f"&networkCode=43211&text={text}"
    ).encode()
    head = (
        "POST /ussd/africastalking HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _drive(app: web.Application, rounds: int) -> tuple[int, float, int]:
    """Hops answered, CPU seconds, answers that were not `CON`/`END`."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    loop = asyncio.get_running_loop()
    state: dict[str, Any] = {"left": 0, "done": None, "bad": 0}

    def answered(data: bytes) -> None:
        if b"\r\n\r\nCON " not in data and b"\r\n\r\nEND " not in data:
            state["bad"] += 1
        state["left"] -= 1
        if state["left"] == 0:
            state["done"].set_result(None)

    protocols = []
    for _ in range(CONNECTIONS):
        protocol = runner.server()  # type: ignore[misc]
        protocol.connection_made(MemoryTransport(answered))
        protocols.append(protocol)
    sessions: list[tuple[str, str]] = [("", "")] * CONNECTIONS
    started = time.process_time()
    for r in range(rounds):
        hop = r % 3
        state["done"], state["left"] = loop.create_future(), CONNECTIONS
        for i, protocol in enumerate(protocols):
            if hop == 0:
                sessions[i] = (f"in{random.getrandbits(48):x}", f"912{random.getrandbits(23):07d}")
            protocol.data_received(_request(*sessions[i], TEXTS[hop]))
        await state["done"]
    cpu = time.process_time() - started
    await runner.cleanup()
    return rounds * CONNECTIONS, cpu, int(state["bad"])


def _app(target: str, db: Path) -> web.Application:
    if target == "a":
        from bench.ceiling import make_app

        return make_app()
    os.environ.update(GATEWAY_DB=str(db), GATEWAY_LOG_LEVEL="WARNING")
    from gateway.app import create_app
    from gateway.settings import Settings

    return create_app(Settings(), background=False)


def _one(target: str, hops: int) -> None:
    """In a fresh process: warm up, freeze the heap as `serve` does, then measure."""
    import uvloop

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)

    async def go() -> None:
        with tempfile.TemporaryDirectory() as folder:
            app = _app(target, Path(folder) / "inprocess.db")
            await _drive(app, 30)
            gc.collect()
            gc.freeze()
            # A fresh app: the warm one's runner is shut; the file keeps its warm rows.
            n, cpu, bad = await _drive(_app(target, Path(folder) / "inprocess.db"), hops // 64)
            print(f"{cpu / n * 1e6:.2f} {bad}")

    loop.run_until_complete(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hops", type=int, default=12_800)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--one", choices=("a", "c"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one, args.hops)
        return
    found: dict[str, list[float]] = {"a": [], "c": []}
    for _ in range(args.runs):
        for target in found:
            out = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.inprocess",
                    "--one",
                    target,
                    "--hops",
                    str(args.hops),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            if int(out[1]):
                raise SystemExit(f"{target}: {out[1]} answers were not CON/END")
            found[target].append(float(out[0]))
    for target, values in found.items():
        runs = " ".join(f"{v:.1f}" for v in sorted(values))
        print(f"{target}: {statistics.median(values):.1f} µs of CPU a hop (runs: {runs})")
    print(f"c/a: {statistics.median(found['c']) / statistics.median(found['a']):.2f}")


if __name__ == "__main__":
    main()
