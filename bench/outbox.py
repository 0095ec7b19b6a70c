"""Outbox throughput: 100,000 notifications through `POST /v1/notifications` (100 requests of
1,000 recipients, 4 in flight) to a fake Kavenegar that answers every call in 50 ms; the
target is at least 2,000 SMS/s with `sms/sendarray` batching, every message accounted for.

The gateway runs as its users run it (`run.py serve`, SQLite, the dispatcher in-process) with
`GATEWAY_SMS_PROVIDER=kavenegar` pointed at the fake; the send-rate cap is lifted, since the
fake has no account limit to respect.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import HOST, ROOT, Server, free_port, gateway_server, say
from bench.fake_kavenegar import KEY

TOTAL = 100_000
PER_REQUEST = 1_000
IN_FLIGHT = 4
# The texts a notify key may send are the caller-facing ones (the gateway's own notices are its
# flows' alone): an activation code is one SMS part, sealed in the outbox as a secret is.
TEMPLATE = "activation_code"
PARAMS = {"code": "482913"}
DEADLINE_S = 240.0


def _post(port: int, key: str, start: int) -> int:
    numbers = [f"0912{n:07d}" for n in range(start, start + PER_REQUEST)]
    body = json.dumps({"recipients": numbers, "template": TEMPLATE, "params": PARAMS}).encode()
    request = urllib.request.Request(
        f"http://{HOST}:{port}/v1/notifications",
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        answer = json.loads(resp.read())
    return int(answer["accepted"])


def _stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{HOST}:{port}/stats", timeout=10) as resp:
        stats: dict[str, Any] = json.loads(resp.read())
        return stats


def run(total: int = TOTAL) -> dict[str, object]:
    fake_port, gw_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="dargah-outbox-") as tmp:
        db = Path(tmp) / "outbox.db"
        env = {
            "GATEWAY_SMS_PROVIDER": "kavenegar",
            "GATEWAY_KAVENEGAR_API_KEY": KEY,
            "GATEWAY_KAVENEGAR_BASE_URL": f"http://{HOST}:{fake_port}",
            "GATEWAY_PROVIDER_RATE_PER_S": "1000000",
            "GATEWAY_DISPATCH_INTERVAL_S": "0.05",
            "GATEWAY_DISPATCH_BATCH": "1000",  # five sendarray calls in flight
        }
        made = subprocess.run(
            [sys.executable, "run.py", "create-api-key", "bench", "--scopes", "notify"],
            cwd=ROOT, env={**env, "GATEWAY_DB": str(db)}, capture_output=True, text=True,
            timeout=60, check=True,
        )  # fmt: skip
        key = made.stdout.split()[0]
        fake = Server("fake-kavenegar", [sys.executable, "-m", "bench.fake_kavenegar",
                      "--port", str(fake_port), "--delay", "0.05"], fake_port)  # fmt: skip
        with fake, gateway_server("dargah-outbox", db, gw_port, **env):
            started = time.time()
            with ThreadPoolExecutor(IN_FLIGHT) as pool:
                accepted = sum(
                    pool.map(lambda s: _post(gw_port, key, s), range(0, total, PER_REQUEST))
                )
            posted = time.time()
            say(f"  outbox: {accepted:,} accepted in {posted - started:.1f} s")
            stats = _stats(fake_port)
            while stats["sms"] < accepted and time.time() - started < DEADLINE_S:
                time.sleep(0.25)
                stats = _stats(fake_port)
            done = time.time()
    elapsed = done - started
    return {
        "status": "measured",
        "reason": "",
        "notifications": accepted,
        "delivered_to_fake": stats["sms"],
        "duplicates": stats["duplicates"],
        "provider_calls": stats["requests"],
        "api_seconds": round(posted - started, 2),
        "total_seconds": round(elapsed, 2),
        "sms_per_s": round(stats["sms"] / elapsed, 1),
        "api_per_s": round(accepted / (posted - started), 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else TOTAL), indent=2))
