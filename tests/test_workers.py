"""Several processes on one SQLite file: the cross-process session lock, migrations started
together, and `GATEWAY_WORKERS` (a supervisor, one port by SO_REUSEPORT, a killed worker started
again, a clean stop)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.storage import Store, open_storage
from gateway.storage.sqlite import file_locks
from gateway.storage.sqlite.database import SqliteDatabase
from gateway.storage.sqlite.file_locks import LOCK_SUFFIX, FileLocks, slot_of
from gateway.web import counters_share as metrics_share
from sessions.ports import Busy
from tests.live_gateway import ROOT, LiveGateway, free_port, gateway_env, query

pytestmark = pytest.mark.timeout(90)

PROBE = """
import errno, fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, int(sys.argv[2]))
except OSError as exc:
    print("busy" if exc.errno in (errno.EACCES, errno.EAGAIN) else "error")
else:
    print("free")
"""
HOLDER = """
import asyncio, sys
from gateway.storage.sqlite.file_locks import FileLocks
async def main():
    locks = FileLocks(sys.argv[1])
    async with locks.hold(sys.argv[2]):
        print("held", flush=True)
        await asyncio.sleep(60)
asyncio.run(main())
"""


def _probe(path: Path, slot: int) -> str:
    """Whether another process could take the byte now."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), str(slot)],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return done.stdout.strip()


async def test_a_session_lock_holds_across_processes_and_dies_with_its_holder(
    tmp_path: Path,
) -> None:
    path = tmp_path / "g.db.locks"
    locks = FileLocks(str(path))
    key = "africastalking:ATUid_1"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, str(path), key, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert (await asyncio.wait_for(holder.stdout.readline(), 30)).strip() == b"held"
        waiting = asyncio.create_task(locks.hold(key).__aenter__())
        await asyncio.sleep(0.3)
        assert not waiting.done(), "a second process took a session another one holds"
        async with locks.hold("africastalking:ATUid_2"):  # another session is not held up
            pass
        holder.send_signal(signal.SIGKILL)  # no clean-up: the kernel drops its lock
        await holder.wait()
        await asyncio.wait_for(waiting, 10)
        assert _probe(path, slot_of(key)) == "busy"
        await locks.hold(key).__aexit__(None, None, None)
        assert _probe(path, slot_of(key)) == "free"
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        locks.close()


WRITER = """
import fcntl, os, sys, time
from gateway.storage.sqlite.file_locks import WRITER_SLOT
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, WRITER_SLOT)
print("writing", flush=True)
time.sleep(float(sys.argv[2]))
"""


async def _other_writer(path: Path, seconds: float) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, str(path), str(seconds), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() == b"writing"
    return proc


async def test_a_write_waits_for_another_process_writing_then_goes_through(
    tmp_path: Path,
) -> None:
    store = await open_storage(f"sqlite:///{tmp_path / 'g.db'}")
    other = await _other_writer(tmp_path / f"g.db{LOCK_SUFFIX}", 0.4)
    try:
        began = time.monotonic()
        await store.set_session_status("no-such-session", "ended")  # one write transaction
        assert time.monotonic() - began >= 0.3, "wrote while another process was writing"
    finally:
        await other.wait()
        await store.close()


async def test_a_writer_that_never_finishes_times_out_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_locks, "WRITER_WAIT_S", 0.3)
    store = await open_storage(f"sqlite:///{tmp_path / 'g.db'}")
    other = await _other_writer(tmp_path / f"g.db{LOCK_SUFFIX}", 60)
    try:
        with pytest.raises(Busy):
            await store.set_session_status("no-such-session", "ended")
        other.kill()
        await other.wait()
        await store.set_session_status("no-such-session", "ended")  # the kernel freed the byte
    finally:
        if other.returncode is None:
            other.kill()
            await other.wait()
        await store.close()


async def test_a_failed_commit_is_rolled_back_and_frees_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await open_storage(f"sqlite:///{tmp_path / 'g.db'}")
    assert isinstance(store, Store)
    assert isinstance(store.db, SqliteDatabase)
    db = store.db
    conn = db.raw
    real = db._control

    def commit_fails_once(sql: str) -> None:
        if sql == "COMMIT":
            monkeypatch.setattr(db, "_control", real)
            raise sqlite3.OperationalError("disk I/O error")
        real(sql)

    monkeypatch.setattr(db, "_control", commit_fails_once)
    try:
        with pytest.raises(sqlite3.OperationalError):
            await store.set_session_status("no-such-session", "ended")
        assert not conn.in_transaction  # SQLite's write lock is not left held
        assert _probe(tmp_path / f"g.db{LOCK_SUFFIX}", file_locks.WRITER_SLOT) == "free"
        await store.set_session_status("no-such-session", "ended")  # the next write goes through
    finally:
        await store.close()


async def test_two_keys_on_one_byte_keep_it_until_both_are_done(tmp_path: Path) -> None:
    path = tmp_path / "g.db.locks"
    locks = FileLocks(str(path))
    try:
        first, second = locks.hold_slot(7), locks.hold_slot(7)
        await first.__aenter__()
        await second.__aenter__()  # the same process: one record lock, counted twice
        await first.__aexit__(None, None, None)
        assert _probe(path, 7) == "busy", "released while a key of this process still held it"
        await second.__aexit__(None, None, None)
        assert _probe(path, 7) == "free"
    finally:
        locks.close()


MIGRATE = """
import asyncio, sys
from gateway.storage import open_storage
async def main():
    storage = await open_storage("sqlite:///" + sys.argv[1])
    await storage.close()
asyncio.run(main())
"""


async def test_processes_starting_together_on_a_new_file_migrate_it_once(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", MIGRATE, str(db), cwd=ROOT, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(4)
    ]
    errors = [(await p.communicate())[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    conn = sqlite3.connect(db)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    scripts = sorted((ROOT / "gateway" / "storage" / "migrations").glob("*.sql"))
    assert version == int(scripts[-1].name[:4])
    assert {"ussd_sessions", "outbox"} <= tables
    assert (tmp_path / f"fresh.db{LOCK_SUFFIX}").exists()


async def test_a_retried_confirmation_racing_on_two_processes_files_one_complaint(
    tmp_path: Path,
) -> None:
    """The hop that files a complaint, sent to two processes on one file at the same moment (an
    operator's retry racing the original): one complaint, and both answers name its ticket."""
    db = tmp_path / "g.db"
    gateways = [
        LiveGateway(gateway_env(db, free_port()), tmp_path / f"gateway-{i}.log") for i in range(2)
    ]
    try:
        for g in gateways:
            await g.start()
        async with aiohttp.ClientSession() as http:

            async def hop(g: LiveGateway, n: int, text: str) -> str:
                form = {
                    "sessionId": f"ATUid_race_{n}",
                    "serviceCode": "*4455#",
                    "phoneNumber": f"0935{4_000_000 + n:07d}",
                    "networkCode": "43211",
                    "text": text,
                }
                async with http.post(f"{g.base}/ussd/africastalking", data=form) as resp:
                    assert resp.status == 200
                    return await resp.text()

            async def complain(n: int) -> tuple[str, str]:
                # Complaint, subject "other", no workshop code, no text; then confirm, twice.
                for text in ("", "4", "4*4", "4*4*1", "4*4*1*1"):
                    await hop(gateways[n % 2], n, text)
                first, second = await asyncio.gather(
                    hop(gateways[0], n, "4*4*1*1*1"), hop(gateways[1], n, "4*4*1*1*1")
                )
                return first, second

            answers = await asyncio.gather(*(complain(n) for n in range(30)))
    finally:
        for g in gateways:
            await g.stop()
    for first, second in answers:
        assert first == second, (first, second)
        assert first.startswith("END ")
    filed = query(db, "SELECT msisdn, count(*) FROM complaints GROUP BY msisdn")
    assert len(filed) == 30
    assert {n for _, n in filed} == {1}, "a raced confirmation filed two complaints"
    assert not any(g.tracebacks() for g in gateways)


# --------------------------------------------------------------------------- GATEWAY_WORKERS

READY = re.compile(r"worker (\d+) ready \(pid (\d+)\)")


class Supervised:
    def __init__(self, proc: asyncio.subprocess.Process, log: Path, port: int) -> None:
        self.proc = proc
        self.log = log
        self.base = f"http://127.0.0.1:{port}"

    def ready(self) -> list[tuple[int, int]]:
        """(worker, pid) for every start so far, in order."""
        text = self.log.read_text(errors="replace")
        return [(int(w), int(p)) for w, p in READY.findall(text)]

    async def wait_ready(self, count: int, limit_s: float = 30) -> list[tuple[int, int]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while len(self.ready()) < count:
            assert self.proc.returncode is None, self.log.read_text()[-3000:]
            assert loop.time() < deadline, self.log.read_text()[-3000:]
            await asyncio.sleep(0.05)
        return self.ready()


@contextlib.asynccontextmanager
async def _supervisor(
    tmp_path: Path, extra: dict[str, str] | None = None, **settings: object
) -> AsyncIterator[Supervised]:
    port = free_port()
    env = {**gateway_env(tmp_path / "g.db", port, **settings), **(extra or {})}
    log = tmp_path / "supervisor.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "run.py", "serve", cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        yield Supervised(proc, log, port)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _walk(http: aiohttp.ClientSession, base: str, n: int) -> list[str]:
    """A 3-hop session (main menu, loan status, the tracking-code prompt); a refused connection
    (a worker just killed) is tried again, as an operator's platform does."""
    replies = []
    for text in ("", "3", "3*1"):
        form = {
            "sessionId": f"ATUid_workers_{n}",
            "serviceCode": "*4455#",
            "phoneNumber": f"+98912{3_000_000 + n:07d}",
            "networkCode": "43211",
            "text": text,
        }
        for attempt in range(20):
            try:
                async with http.post(f"{base}/ussd/africastalking", data=form) as resp:
                    assert resp.status == 200
                    replies.append(await resp.text())
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05 * (attempt + 1))
        else:
            raise AssertionError(f"session {n}: no worker answered")
    return replies


async def test_workers_share_the_port_survive_a_killed_worker_and_stop_together(
    tmp_path: Path,
) -> None:
    async with _supervisor(tmp_path, workers=2) as gw:
        started = await gw.wait_ready(2)
        assert sorted(w for w, _ in started) == [0, 1]
        pids = dict(started)
        # A fresh connection per request, so the kernel spreads them over both workers.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            walks = await asyncio.gather(*(_walk(http, gw.base, n) for n in range(16)))
            assert all(w == walks[0] for w in walks), "sessions saw different screens"
            assert walks[0][0].startswith("CON ")
            assert walks[0][2].startswith("CON ")
            assert walks[0][1] != walks[0][0] != walks[0][2]

            os.kill(pids[1], signal.SIGKILL)
            after = await gw.wait_ready(3)  # the supervisor starts worker 1 again
            restarted = after[-1]
            assert restarted[0] == 1
            assert restarted[1] != pids[1]
            later = await asyncio.gather(*(_walk(http, gw.base, n) for n in range(16, 32)))
            assert all(w == walks[0] for w in later)

        gw.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(gw.proc.wait(), 20) == 0
        for pid in (pids[0], restarted[1]):
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert "Traceback" not in gw.log.read_text(errors="replace")


def _shared_folders(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("dargah-metrics-*"))


def _hops_total(text: str) -> int:
    """Hops counted, and hops timed, by the exposition's own parser (a malformed line raises)."""
    counted = timed = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "dargah_ussd_hops_total":
                counted += sample.value
            if sample.name == "dargah_ussd_hop_duration_seconds_count":
                timed += sample.value
    assert counted == timed
    return int(counted)


async def test_metrics_count_every_worker_whichever_answers(tmp_path: Path) -> None:
    async with _supervisor(tmp_path, extra={"TMPDIR": str(tmp_path)}, workers=2) as gw:
        await gw.wait_ready(2)
        connector = aiohttp.TCPConnector(force_close=True)  # spread over both workers
        async with aiohttp.ClientSession(connector=connector) as http:
            await asyncio.gather(*(_walk(http, gw.base, n) for n in range(16)))
            await asyncio.sleep(metrics_share.SHARE_EVERY_S * 2.5)  # each has shared its own
            totals = set()
            for _ in range(8):
                async with http.get(f"{gw.base}/metrics") as resp:
                    totals.add(_hops_total(await resp.text()))
        assert totals == {48}, "a scrape saw one worker's hops only"
        assert _shared_folders(tmp_path), "the counters are shared through files"
        gw.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(gw.proc.wait(), 20) == 0
    assert not _shared_folders(tmp_path), "the supervisor leaves no folder behind"


async def _refusal(env: dict[str, str]) -> str:
    """`run.py serve` that must refuse to start: exit 2; its stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "run.py", "serve", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    return err.decode()


async def test_workers_refuse_a_port_already_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = await _refusal(gateway_env(tmp_path / "g.db", port, workers=2))
    assert f"cannot listen on 127.0.0.1:{port}" in err


async def test_workers_refuse_an_in_memory_database(tmp_path: Path) -> None:
    env = {**gateway_env(tmp_path / "g.db", free_port(), workers=2), "GATEWAY_DB": ":memory:"}
    assert "GATEWAY_WORKERS" in await _refusal(env)


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie nobody has reaped yet."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return "State:\tZ" in status


async def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    async with _supervisor(tmp_path, workers=2) as gw:
        pids = [pid for _, pid in await gw.wait_ready(2)]
        gw.proc.send_signal(signal.SIGKILL)  # no chance to stop its workers itself
        await gw.proc.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not all(_gone(pid) for pid in pids):
            assert loop.time() < deadline, "workers outlived their supervisor"
            await asyncio.sleep(0.1)
