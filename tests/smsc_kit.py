"""The test SMSC (tests/fakes/smsc.pl, on Debian's Net::SMPP) as an asyncio peer: started on an
ephemeral port, its PDUs read back as dicts, its behaviour set by commands."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

SCRIPT = Path(__file__).parent / "fakes" / "smsc.pl"
SYSTEM_ID = "ssoesme"
PASSWORD = "s3cr3tBd"


def have_net_smpp() -> bool:
    if shutil.which("perl") is None:
        return False
    probe = subprocess.run(["perl", "-MNet::SMPP", "-e", "1"], capture_output=True, check=False)
    return probe.returncode == 0


needs_smsc = pytest.mark.skipif(
    not have_net_smpp(), reason="Debian's libnet-smpp-perl is not installed (.ci/run installs it)"
)


class Smsc:
    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.port = port
        self.events: list[dict[str, Any]] = []
        self._new = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            async with self._new:
                self.events.append(json.loads(line))
                self._new.notify_all()

    def pdus(self, cmd: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == "pdu" and e["cmd"] == cmd]

    async def wait_for(
        self, cmd: str, count: int = 1, within: float = 10.0
    ) -> list[dict[str, Any]]:
        """At least `count` PDUs of `cmd` read so far."""

        async def enough() -> None:
            async with self._new:
                await self._new.wait_for(lambda: len(self.pdus(cmd)) >= count)

        await asyncio.wait_for(enough(), within)
        return self.pdus(cmd)

    async def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        acks = sum(1 for e in self.events if e.get("event") == "ack")
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()

        async def acked() -> None:
            async with self._new:
                await self._new.wait_for(
                    lambda: sum(1 for e in self.events if e.get("event") == "ack") > acks
                )

        await asyncio.wait_for(acked(), 10)

    async def deliver(self, **fields: Any) -> None:
        await self.send("deliver " + json.dumps(fields))

    def link(self, name: str = "mci", **overrides: Any) -> dict[str, Any]:
        return {
            "name": name, "host": "127.0.0.1", "port": self.port, "system_id": SYSTEM_ID,
            "password": PASSWORD, "source_addr": "3000123", "response_timeout_s": 1.0,
            "bind_timeout_s": 2.0, "rebind_base_s": 0.05, "rebind_cap_s": 0.2, **overrides,
        }  # fmt: skip

    def settings(self, *links: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        return {
            "sms_provider": "smpp",
            "smpp_links": SecretStr(json.dumps(list(links) or [self.link()])),
            "retry_base_s": 0.001,
            "retry_cap_s": 0.005,
            **overrides,
        }

    async def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        await self.proc.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def start_smsc() -> Smsc:
    proc = await asyncio.create_subprocess_exec(
        "perl", str(SCRIPT), SYSTEM_ID, PASSWORD,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    first = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
    assert first.startswith("PORT "), first
    return Smsc(proc, int(first.split()[1]))
