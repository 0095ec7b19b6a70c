"""Three gateway processes on one database, one of them killed mid-work: on PostgreSQL in the
PostgreSQL leg of the suite, on one SQLite file (WAL, the lock file beside it) in the SQLite leg.

USSD sessions are walked with every hop on another process (no sticky sessions: the state is in
the database), some hops sent to two processes at once (an operator's retry racing the original);
notifications are posted across the three with idempotency keys. Process 0 is SIGKILLed halfway;
what it was doing is retried on the others, as a load balancer would. Then: every screen belongs to
its own session, and every accepted notification reached the (fake) provider exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.storage import open_storage
from sessions.records import Loan
from sessions.sealing import new_seal_key
from tests.fakes.kavenegar import FakeKavenegar, RecordedRequest
from tests.postgres_kit import fresh_schema, reachable_url

RUN = Path(__file__).resolve().parent.parent / "run.py"
PROCESSES = 3
SESSIONS = 45
NOTIFICATIONS = 60
LEASE_S = 2.0
SEAL_KEY = new_seal_key()  # one key for every process of the cluster
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]

pytestmark = pytest.mark.timeout(90)


@contextlib.contextmanager
def shared_database(tmp_path: Path) -> Iterator[str]:
    """The database the processes share: this leg's backend."""
    if not os.environ.get("DARGAH_TEST_DATABASE_URL"):
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    url = reachable_url()
    if url is None:
        pytest.skip("no PostgreSQL answers")
    with fresh_schema(url) as db_url:
        yield db_url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gateway:
    def __init__(self, index: int, port: int, proc: asyncio.subprocess.Process) -> None:
        self.index = index
        self.port = port
        self.proc = proc
        self.alive = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Cluster:
    def __init__(self, gateways: list[Gateway], http: aiohttp.ClientSession) -> None:
        self.gateways = gateways
        self.http = http
        self.retried = 0

    def live(self) -> list[Gateway]:
        return [g for g in self.gateways if g.alive]

    async def request(self, first: int, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
        """Sends to gateway `first` (mod the live ones); a connection that breaks is retried on
        the next live gateway with the very same request, as a load balancer does."""
        for attempt in range(2 * PROCESSES):
            live = self.live()
            gateway = live[(first + attempt) % len(live)]
            try:
                async with self.http.request(method, gateway.url + path, **kwargs) as resp:
                    return resp.status, await resp.text()
            except (aiohttp.ClientConnectionError, TimeoutError):
                self.retried += 1
                await asyncio.sleep(0.05)
        raise AssertionError(f"{method} {path}: no gateway answered")


def _env(db_url: str, fake: FakeKavenegar, fake_url: str, port: int = 0) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        GATEWAY_DATABASE_URL=db_url,
        GATEWAY_SEAL_KEY=SEAL_KEY,
        GATEWAY_HOST="127.0.0.1",
        GATEWAY_PORT=str(port or 8080),
        GATEWAY_LOG_LEVEL="WARNING",
        GATEWAY_SMS_PROVIDER="kavenegar",
        GATEWAY_KAVENEGAR_API_KEY=fake.api_key,
        GATEWAY_KAVENEGAR_SENDER="10004346",
        GATEWAY_KAVENEGAR_BASE_URL=fake_url,
        GATEWAY_DISPATCHER_ENABLED="true",
        GATEWAY_DISPATCH_INTERVAL_S="0.05",
        GATEWAY_DISPATCH_BATCH="10",
        GATEWAY_DISPATCH_LEASE_S=str(LEASE_S),
        GATEWAY_RETRY_BASE_S="0.05",
        GATEWAY_RETRY_CAP_S="0.2",
        GATEWAY_PROVIDER_TIMEOUT_S="1.0",
        GATEWAY_STATUS_POLL_AFTER_S="3600",
    )
    return env


async def _run(env: dict[str, str], cwd: Path, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(RUN),
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    return out.decode().strip().splitlines()[-1].split()[-1]


async def _wait_healthy(http: aiohttp.ClientSession, gateway: Gateway) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert gateway.proc.returncode is None, f"gateway {gateway.index} exited"
        try:
            async with http.get(gateway.url + "/readyz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"gateway {gateway.index} did not become ready")


@pytest.fixture
async def cluster(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> AsyncIterator[tuple[Cluster, FakeKavenegar, str, str]]:
    fake = FakeKavenegar(delay=0.1)  # each send is in flight a while: a kill lands mid-send
    fake_server = await aiohttp_server(fake.app())
    fake_url = str(fake_server.make_url("")).rstrip("/")
    with shared_database(tmp_path) as db_url:
        # The schema is migrated by the first process to start; the others wait on the lock.
        key = await _run(
            _env(db_url, fake, fake_url),
            tmp_path,
            "create-api-key",
            "cluster",
            "--scopes",
            "notify",
        )
        gateways: list[Gateway] = []
        logs = [(tmp_path / f"gateway-{i}.log").open("wb") for i in range(PROCESSES)]
        try:
            for i in range(PROCESSES):
                port = _free_port()
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(RUN),
                    "serve",
                    cwd=tmp_path,
                    env=_env(db_url, fake, fake_url, port),
                    stdout=logs[i],
                    stderr=asyncio.subprocess.STDOUT,
                )
                gateways.append(Gateway(i, port, proc))
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as http:
                await asyncio.gather(*(_wait_healthy(http, g) for g in gateways))
                yield Cluster(gateways, http), fake, key, db_url
        finally:
            for g in gateways:
                if g.proc.returncode is None:
                    g.proc.send_signal(signal.SIGINT)
            for g in gateways:
                try:
                    await asyncio.wait_for(g.proc.wait(), 10)
                except TimeoutError:
                    g.proc.kill()
                    await g.proc.wait()
            for log in logs:
                log.close()
            for i in range(PROCESSES):  # shown by pytest when the test failed
                text = (tmp_path / f"gateway-{i}.log").read_text(errors="replace")
                if "Traceback" in text:
                    print(f"--- gateway {i} log (tail)\n{text[-4000:]}")


def _localids(request: RecordedRequest) -> list[str]:
    if request.method == "sendarray":
        ids: list[str] = json.loads(request.one("localmessageids"))
        return ids
    if request.method == "send" and request.form.get("localid"):
        return request.one("localid").split(",")
    return []


async def test_three_processes_one_killed_every_session_right_every_sms_once(
    cluster: tuple[Cluster, FakeKavenegar, str, str],
) -> None:
    c, fake, key, db_url = cluster
    rng = random.Random(7)
    codes = [f"{70_000_000 + i * 7919}" for i in range(SESSIONS)]
    mobiles = [f"0912{5_000_000 + i:07d}" for i in range(SESSIONS)]
    storage = await open_storage(db_url)
    try:
        for i, (code, mobile) in enumerate(zip(codes, mobiles, strict=True)):
            loan = Loan(code, "0013542419", mobile, "bank_review", "بانک ملت", f"شعبه {i}", 10**8)
            await storage.put_record(loan, lambda old, new: [])
    finally:
        await storage.close()

    half = asyncio.Event()
    done = Counter[str]()
    total = SESSIONS + NOTIFICATIONS

    def finished(kind: str) -> None:
        done[kind] += 1
        if sum(done.values()) >= total // 2:
            half.set()

    async def walk(i: int) -> list[str]:
        form = {
            "sessionId": f"ATUid_cluster_{i}",
            "serviceCode": "*4455#",
            "phoneNumber": "+98" + mobiles[i][1:],
            "networkCode": "43211",
        }
        replies: list[str] = []
        for hop, text in enumerate(["", "3", "3*1", f"3*1*{codes[i]}"]):
            data = {**form, "text": text}
            first = i + hop  # each hop of a session on another process
            if i % 5 == 0:  # the operator's retry races the original, on another process
                answers = await asyncio.gather(
                    c.request(first, "POST", "/ussd/africastalking", data=data),
                    c.request(first + 1, "POST", "/ussd/africastalking", data=data),
                )
                assert answers[0] == answers[1], f"session {i} hop {hop}: {answers}"
                status, body = answers[0]
            else:
                status, body = await c.request(first, "POST", "/ussd/africastalking", data=data)
            assert status == 200, body
            replies.append(body)
            await asyncio.sleep(rng.random() * 0.05)
        finished("ussd")
        return replies

    async def notify(i: int) -> tuple[int, str]:
        body = {
            "recipient": f"0935{6_000_000 + i:07d}",
            "template": "activation_code",
            "params": {"code": f"{100000 + i}"},
        }
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"cluster-{i}"}
        status, text = await c.request(i, "POST", "/v1/notifications", json=body, headers=headers)
        finished("notify")
        return status, text

    async def killer() -> None:
        await half.wait()
        victim = c.gateways[0]
        victim.proc.send_signal(signal.SIGKILL)
        await victim.proc.wait()
        victim.alive = False

    started = time.monotonic()
    kill = asyncio.create_task(killer())
    walks, posts = await asyncio.gather(
        asyncio.gather(*(walk(i) for i in range(SESSIONS))),
        asyncio.gather(*(notify(i) for i in range(NOTIFICATIONS))),
    )
    await kill
    assert not c.gateways[0].alive

    # Every screen belongs to its session: the same menus for all, and the last one its own loan.
    assert all(w[:3] == walks[0][:3] for w in walks), "a menu screen differs between sessions"
    assert walks[0][0].startswith("CON ")
    assert walks[0][2].startswith("CON ")
    for i, replies in enumerate(walks):
        last = replies[3]
        assert last.startswith(("END ", "CON ")), last
        assert codes[i].translate(PERSIAN) in last, f"session {i} got: {last}"
        assert f"شعبه {i}".translate(PERSIAN) in last or f"شعبه {i}" in last, last
        others = [c2.translate(PERSIAN) for j, c2 in enumerate(codes) if j != i]
        assert not any(o in last for o in others), f"session {i} saw another's loan"

    accepted: set[str] = set()
    for status, text in posts:
        assert status == 202, text
        accepted.update(n["id"] for n in json.loads(text)["notifications"])
    assert len(accepted) == NOTIFICATIONS  # a retried POST replayed its answer, no new ids

    # Everything reaches the provider, including what the killed process had claimed (after its
    # lease ran out and a check found it there). Waited for until every message is recorded
    # `sent`: from then on no dispatcher may offer it again, so the counts below are final (a
    # fixed sleep would be too short on a loaded machine, or waste time on an idle one).
    storage = await open_storage(db_url)
    try:
        rows: dict[str, dict[str, Any]] = {}
        for _ in range(600):
            rows = {r["id"]: r for r in await storage.outbox_messages()}
            if accepted <= set(rows) and {rows[i]["status"] for i in accepted} == {"sent"}:
                break
            await asyncio.sleep(0.1)
    finally:
        await storage.close()
    assert {rows[i]["status"] for i in accepted} == {"sent"}, Counter(
        rows[i]["status"] for i in accepted if i in rows
    )
    counts = fake.sms_count_by_localid
    assert set(counts) == accepted, (
        f"missing {accepted - set(counts)}, extra {set(counts) - accepted}"
    )
    assert all(n == 1 for n in counts.values()), {k: n for k, n in counts.items() if n != 1}

    # A message is offered to the provider again only after a lease ran out: the killed
    # process's claims, never two live dispatchers at once.
    offered = Counter(lid for r in fake.requests for lid in _localids(r))
    again = {lid for lid, n in offered.items() if n > 1}
    assert all(rows[lid]["attempts"] > 1 for lid in again), again
    assert len(again) <= 10  # at most one claim (GATEWAY_DISPATCH_BATCH) was cut short
    assert time.monotonic() - started < 60
    print(f"cluster: {c.retried} requests retried after the kill, {len(again)} SMS re-offered")
