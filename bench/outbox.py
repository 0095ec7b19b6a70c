"""Outbox throughput: 100,000 notifications through `POST /v1/notifications` to a fake Kavenegar
that answers in 50 ms; the target is at least 2,000 SMS/s with `sms/sendarray` batching.

STUB: the notification API is not built yet. `probe` asks the running gateway; while
`POST /v1/notifications` answers 404 (no such route) or 405 (only `GET /v1/notifications/{id}`),
the step is skipped and reported as such. When the route exists, this module is where the step
goes: a fake Kavenegar (aiohttp, `sms/send` and `sms/sendarray`, 50 ms per answer) on its own
loopback port, the gateway started with `GATEWAY_SMS_PROVIDER=kavenegar` and
`GATEWAY_KAVENEGAR_BASE_URL` pointing at it, an API key from `run.py create-api-key bench
--scopes notify`, 100,000 posts at 64 in flight, and the time until the fake has seen every
`localid` once (duplicates counted apart).
"""

from __future__ import annotations

import urllib.error
import urllib.request

from bench.common import HOST

NOT_BUILT = (404, 405)


def probe(port: int) -> int:
    """The status `POST /v1/notifications` answers (without a key: 401/403 means it exists)."""
    request = urllib.request.Request(
        f"http://{HOST}:{port}/v1/notifications",
        data=b"{}",
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def run(port: int) -> dict[str, object]:
    status = probe(port)
    if status in NOT_BUILT:
        return {
            "status": "skipped",
            "reason": f"POST /v1/notifications answers {status}: the notification API is not built",
        }
    return {
        "status": "not measured",
        "reason": f"POST /v1/notifications answers {status}: the route exists, the outbox "
        "step in bench/outbox.py is still a stub",
    }
