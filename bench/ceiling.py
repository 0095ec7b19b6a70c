"""The ceiling of our stack: a bare aiohttp handler that parses the form and answers `CON hi`.

    python -m bench.ceiling --port 18101 [--processes 2]

Same interpreter, same aiohttp and the same event loop as the gateway (uvloop, as
`run.new_event_loop` picks, unless `--loop asyncio`); no routing table beyond one route, no
middleware, no access log, no storage. It imports nothing of the gateway, which would only weigh
on its collector.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import signal

from aiohttp import web

PR_SET_PDEATHSIG = 1


async def hop(request: web.Request) -> web.Response:
    form = await request.post()
    if "sessionId" not in form or "text" not in form:
        return web.Response(status=400, text="missing fields")
    return web.Response(text="CON hi", content_type="text/plain", charset="utf-8")


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/ussd/{dialect}", hop)
    return app


def _serve(args: argparse.Namespace) -> None:
    web.run_app(
        make_app(),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        loop=new_event_loop(args.loop),
        reuse_port=args.processes > 1,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18101)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument(
        "--processes", type=int, default=1, help="processes on the port (SO_REUSEPORT)"
    )
    args = parser.parse_args()
    children = []
    for _ in range(args.processes - 1):
        pid = os.fork()
        if pid == 0:  # a child ends with its parent, however the parent ends
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
            _serve(args)
            os._exit(0)
        children.append(pid)
    try:
        _serve(args)
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
