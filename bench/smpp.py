"""SMPP throughput: notifications through `POST /v1/notifications` and one SMPP bind to the test
SMSC (tests/fakes/smsc.pl, Debian's Net::SMPP, which answers each `submit_sm` at once), to set
beside the HTTP provider row (bench/outbox.py). The gateway runs as its users run it
(`run.py serve`, SQLite, the dispatcher in-process) with `GATEWAY_SMS_PROVIDER=smpp`; the link's
throughput cap is lifted and its window is 64. Every PDU the SMSC reads is counted there: each
recipient once, or it is a duplicate.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import ROOT, free_port, gateway_server, say
from bench.outbox import IN_FLIGHT, PER_REQUEST, _post

TOTAL = 20_000
DEADLINE_S = 240.0
SMSC = ROOT / "tests" / "fakes" / "smsc.pl"
SYSTEM_ID, PASSWORD = "bench", "bench123"  # the test SMSC's


class Counter:
    """The SMSC's stdout, one JSON line a PDU: submit_sm counted, and messages (their first
    parts) by recipient: a recipient whose first part comes twice got its message twice."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.submits = 0
        self.messages = 0
        self.seen: set[str] = set()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode()
            if line.startswith("PORT "):
                self.port = int(line.split()[1])
                self._ready.set()
                continue
            if '"cmd":"submit_sm"' in line:
                self.submits += 1
                pdu = json.loads(line)
                body = bytes.fromhex(pdu["short_message_hex"])
                if pdu["esm_class"] & 0x40 and len(body) >= 6 and body[5] != 1:
                    continue  # a later part of a long message
                self.messages += 1
                self.seen.add(pdu["destination_addr"])

    def wait_port(self) -> int:
        self._ready.wait(10)
        return self.port


def run(total: int = TOTAL) -> dict[str, object]:
    if (
        shutil.which("perl") is None
        or subprocess.run(
            ["perl", "-MNet::SMPP", "-e", "1"], capture_output=True, check=False
        ).returncode
    ):
        return {"status": "skipped", "reason": "libnet-smpp-perl is not installed"}
    smsc = subprocess.Popen(
        ["perl", str(SMSC), SYSTEM_ID, PASSWORD],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    counter = Counter(smsc)
    gw_port = free_port()
    try:
        link = {
            "name": "bench", "host": "127.0.0.1", "port": counter.wait_port(),
            "system_id": SYSTEM_ID, "password": PASSWORD, "source_addr": "3000123",
            "window": 64, "rate_per_s": 1_000_000, "registered_delivery": 0,
        }  # fmt: skip
        env = {
            "GATEWAY_SMS_PROVIDER": "smpp",
            "GATEWAY_SMPP_LINKS": json.dumps([link]),
            "GATEWAY_DISPATCH_INTERVAL_S": "0.05",
            "GATEWAY_DISPATCH_BATCH": "1000",
        }
        with tempfile.TemporaryDirectory(prefix="dargah-smpp-") as tmp:
            db = Path(tmp) / "smpp.db"
            made = subprocess.run(
                [sys.executable, "run.py", "create-api-key", "bench", "--scopes", "notify"],
                cwd=ROOT, env={**env, "GATEWAY_DB": str(db)}, capture_output=True, text=True,
                timeout=60, check=True,
            )  # fmt: skip
            key = made.stdout.split()[0]
            with gateway_server("dargah-smpp", db, gw_port, **env):
                started = time.time()
                with ThreadPoolExecutor(IN_FLIGHT) as pool:
                    accepted = sum(
                        pool.map(lambda s: _post(gw_port, key, s), range(0, total, PER_REQUEST))
                    )
                posted = time.time()
                say(f"  smpp: {accepted:,} accepted in {posted - started:.1f} s")
                while counter.messages < accepted and time.time() - started < DEADLINE_S:
                    time.sleep(0.25)
                done = time.time()
    finally:
        smsc.kill()
        smsc.wait()
    elapsed = done - started
    return {
        "status": "measured",
        "reason": "",
        "notifications": accepted,
        "delivered_to_smsc": counter.messages,
        "submit_sm": counter.submits,
        "duplicates": counter.messages - len(counter.seen),
        "api_seconds": round(posted - started, 2),
        "total_seconds": round(elapsed, 2),
        "sms_per_s": round(counter.messages / elapsed, 1),
        "submit_sm_per_s": round(counter.submits / elapsed, 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else TOTAL), indent=2))
