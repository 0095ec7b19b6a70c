"""The tests' fake Kavenegar as a process for the outbox benchmark: every answer takes `--delay`
seconds, and `GET /stats` tells how many SMS arrived and how many local ids came twice.

    python -m bench.fake_kavenegar --port 18201 --delay 0.05
"""

from __future__ import annotations

import argparse
import time

from aiohttp import web

from tests.fakes.kavenegar import FakeKavenegar

KEY = "bench-key-0123456789"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    fake = FakeKavenegar(api_key=KEY, delay=args.delay)
    app = fake.app()
    first: list[float] = []

    async def stats(request: web.Request) -> web.Response:
        counts = fake.sms_count_by_localid
        if fake.accepted and not first:
            first.append(time.time())
        return web.json_response(
            {
                "sms": len(counts),
                "duplicates": sum(1 for n in counts.values() if n > 1),
                "requests": len(fake.requests),
            }
        )

    app.router.add_get("/stats", stats)
    # The fake records every request; drop the records so 100,000 SMS stay light.
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
