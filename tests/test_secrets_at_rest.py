"""No secret in clear at rest: a temporary password waiting in the outbox while the provider is
down is sealed, the database files are the gateway's alone, and the seal key file too."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.appkeys import SETTINGS
from sessions.sealing import SealBroken, Sealer, new_seal_key
from sessions.services.reset import ResetOutcome, request_reset
from tests.api_helpers import deps, sms
from tests.conftest import FakeClock, GatewayFactory
from tests.dispatch_kit import Fakes, dispatcher, enqueue
from tests.postgres_kit import sqlite_only
from tests.seed import ME, NID, add_registration


@sqlite_only
async def test_a_password_waiting_for_a_down_provider_is_not_in_the_database_bytes(
    gateway: GatewayFactory, fakes: Fakes, clock: FakeClock
) -> None:
    client = await gateway(**fakes.settings("kavenegar"))
    fakes.kave.http_error = 503  # the provider is down: the password waits in the outbox
    await add_registration(client, NID, ME, "activated")
    assert await request_reset(deps(client), NID, ME, "fa", "ussd") is ResetOutcome.SENT
    await dispatcher(client).run_once()
    [message] = [m for m in await sms(client, ME) if m["template_id"] == "password_reset"]
    assert message["status"] == "queued"
    text = message["text"]
    password = text.split("رمز ")[1].split(" ")[0]
    assert len(password) == 10
    db = Path(client.app[SETTINGS].db)
    files = [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]
    for path in files:
        raw = path.read_bytes()
        assert password.encode() not in raw, path
        assert password.encode("utf-16-le") not in raw, path
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    key = Path(f"{db}.key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(f"{db}.locks").st_mode) == 0o600

    fakes.kave.http_error = None  # back up: the password goes out, then its sealed text is gone
    clock.advance(60)
    await dispatcher(client).run_once()
    [sent] = [m for m in await sms(client, ME) if m["template_id"] == "password_reset"]
    assert sent["status"] == "sent"
    assert any(password in a.message for a in fakes.kave.accepted)
    assert sent["sealed"] is None


async def test_a_key_rotation_reseals_what_waits(gateway: GatewayFactory) -> None:
    old, new = new_seal_key(), new_seal_key()
    client = await gateway(seal_key=old)
    sms_id = (await enqueue(client, "activation_code", {"code": "482913"})).id
    store = deps(client).store
    rotated = Sealer([new, old])  # the new key first, the old one still opens
    assert await store.reseal(rotated.reseal) == 1
    [message] = [m for m in await store.outbox_messages() if m["id"] == sms_id]
    assert "482913" in Sealer([new]).open(bytes(message["sealed"]))
    with pytest.raises(SealBroken):
        Sealer([old]).open(bytes(message["sealed"]))


def test_seal_key_prints_a_key_that_seals() -> None:
    done = subprocess.run(
        [sys.executable, "run.py", "seal-key"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    key = done.stdout.strip()
    assert Sealer([key]).open(Sealer([key]).seal("x")) == "x"
