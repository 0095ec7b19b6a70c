"""Crash safety with real processes: SIGKILL the gateway mid-dispatch and mid-session, restart it on
the same database, and prove that nothing is lost, nothing is sent twice and no session is corrupt.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sessions.flows.home import RESUME_QUESTION
from sessions.flows.registry import SERVICES, build_engine
from sessions.state import State
from sessions.validators import is_valid_national_id
from tests.fakes.kavenegar import FakeKavenegar
from tests.live_gateway import (
    LiveGateway,
    create_api_key,
    free_port,
    gateway_env,
    outbox_counts,
    query,
    session_states,
)

ServerFactory = Callable[[web.Application], Awaitable[TestServer]]

MESSAGES = 300
PER_REQUEST = 100
BATCH = 50


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Callable[..., LiveGateway]]:
    made: list[LiveGateway] = []

    def make(**settings: object) -> LiveGateway:
        env = gateway_env(tmp_path / "gateway.db", free_port(), **settings)
        gw = LiveGateway(env, tmp_path / "gateway.log")
        made.append(gw)
        return gw

    yield make
    for gw in made:
        await gw.stop()


async def wait_for(check: Callable[[], bool], limit_s: float, what: str) -> float:
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not check():
        if loop.time() - start > limit_s:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
    return loop.time() - start


def _at_least(fake: FakeKavenegar, count: int) -> bool:
    return len(fake.accepted) >= count


async def post_notifications(base: str, key: str, numbers: list[str]) -> list[str]:
    ids: list[str] = []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as http:
        for i in range(0, len(numbers), PER_REQUEST):
            body = {
                "recipients": numbers[i : i + PER_REQUEST],
                "template": "keyword_help",
            }
            async with http.post(f"{base}/v1/notifications", json=body) as resp:
                assert resp.status == 202, await resp.text()
                batch = await resp.json()
            assert batch["rejected"] == 0
            ids += [n["id"] for n in batch["notifications"]]
    return ids


@pytest.mark.timeout(90)
async def test_sigkill_mid_batch_loses_nothing_and_sends_each_sms_once(
    aiohttp_server: ServerFactory, live: Callable[..., LiveGateway]
) -> None:
    fake = FakeKavenegar(delay=0.3)  # accepts at once, answers late: the kill lands in between
    server = await aiohttp_server(fake.app())
    gw = live(
        sms_provider="kavenegar",
        kavenegar_api_key=fake.api_key,
        kavenegar_sender="10004346",
        kavenegar_base_url=str(server.make_url("")),
        dispatch_interval_s=0.05,
        dispatch_lease_s=1.5,
        dispatch_batch=BATCH,
        provider_timeout_s=5,
        retry_base_s=0.05,
        retry_cap_s=0.2,
        status_poll_after_s=3600,
        unknown_check_s=0.2,
    )
    key = await create_api_key(gw.env, "notify")
    await gw.start()
    numbers = [f"0912{n:07d}" for n in range(1_000_000, 1_000_000 + MESSAGES)]
    ids = await post_notifications(gw.base, key, numbers)
    assert len(set(ids)) == MESSAGES

    kills = 0
    for target in (BATCH * 2, BATCH * 4):
        # The provider holds batch N (accepted, not yet answered): the gateway has not recorded it.
        await wait_for(partial(_at_least, fake, target), 30, f"{target} accepted")
        await gw.kill()
        kills += 1
        counts = outbox_counts(gw.db)
        assert counts.get("sending", 0) > 0, counts  # claimed and sent, never recorded
        assert counts.get("queued", 0) > 0, counts  # not even claimed yet
        await gw.start()

    fake.delay = 0.0
    drained = await wait_for(
        lambda: outbox_counts(gw.db) == {"sent": MESSAGES}, 40, "the outbox to drain"
    )
    await gw.stop()

    assert fake.sms_count_by_localid == dict.fromkeys(ids, 1)
    assert len(fake.accepted) == MESSAGES
    rows = query(gw.db, "SELECT id, provider_message_id, attempts, checks FROM outbox")
    by_local = {s.localid: s for s in fake.accepted}
    assert {r[0]: r[1] for r in rows} == {i: str(by_local[i].messageid) for i in ids}
    checked = sum(1 for r in rows if r[3] > 0)
    assert all(r[2] == 1 for r in rows)  # none was offered to the provider twice
    offered = sum(
        len(r.form.get("localid", []))
        + sum(v.count(",") + 1 for v in r.form.get("localmessageids", []))
        for r in fake.requests
        if r.method in ("send", "sendarray")
    )
    assert checked > 0  # the kill really left sends whose answer was lost
    assert offered == MESSAGES
    assert gw.tracebacks() == []
    print(
        f"\ncrash: {MESSAGES} SMS, {kills} SIGKILLs mid-batch, {checked} checked after a kill, "
        f"{offered} offered to the provider, {len(fake.accepted)} accepted, lost 0, "
        f"drained {drained:.2f} s after the last restart"
    )


@pytest.mark.timeout(60)
async def test_sigterm_drains_the_sends_in_flight_and_a_restart_waits_out_no_lease(
    aiohttp_server: ServerFactory, live: Callable[..., LiveGateway]
) -> None:
    fake = FakeKavenegar(delay=1.0)  # each call is answered a second after it was taken
    server = await aiohttp_server(fake.app())
    gw = live(
        sms_provider="kavenegar",
        kavenegar_api_key=fake.api_key,
        kavenegar_sender="10004346",
        kavenegar_base_url=str(server.make_url("")),
        dispatch_interval_s=0.05,
        dispatch_batch=BATCH,
        provider_timeout_s=5,
        dispatch_lease_s=120,  # a restart that waited for leases would wait two minutes
        status_poll_after_s=3600,
        log_level="INFO",
    )
    key = await create_api_key(gw.env, "notify")
    await gw.start()
    numbers = [f"0912{n:07d}" for n in range(2_000_000, 2_000_000 + MESSAGES)]
    ids = await post_notifications(gw.base, key, numbers)
    await wait_for(partial(_at_least, fake, BATCH), 30, "a batch in flight")
    await gw.stop()  # SIGTERM while the provider holds a batch it has not answered yet
    counts = outbox_counts(gw.db)
    assert counts.get("sending", 0) == 0, counts  # drained: every send in flight was recorded
    assert "dispatcher stopped:" in gw.log.read_text()
    fake.delay = 0.0
    await gw.start()
    drained = await wait_for(
        lambda: outbox_counts(gw.db) == {"sent": MESSAGES}, 20, "the outbox to drain"
    )
    await gw.stop()
    assert fake.sms_count_by_localid == dict.fromkeys(ids, 1)
    assert gw.tracebacks() == []
    print(f"\nsigterm: {MESSAGES} SMS, drained {drained:.2f} s after the restart, none twice")


# --- inbound SMS -------------------------------------------------------------------------------


def _national_ids(n: int) -> list[str]:
    found: list[str] = []
    for body in range(100_000_000, 200_000_000, 7_919):
        for check in range(10):
            candidate = f"{body:09d}{check}"
            if is_valid_national_id(candidate):
                found.append(candidate)
                break
        if len(found) == n:
            return found
    raise AssertionError("not enough national IDs")


async def _inbound(base: str, sender: str, text: str, messageid: str) -> dict[str, object]:
    form = {"from": sender, "to": "10004346", "message": text, "messageid": messageid}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/sms/console/inbound", data=form) as resp,
    ):
        assert resp.status == 200, await resp.text()
        answer: dict[str, object] = await resp.json()
        return answer


@pytest.mark.timeout(90)
async def test_sigkill_around_an_inbound_sms_then_the_retry_answers_it_exactly_once(
    live: Callable[..., LiveGateway],
) -> None:
    """`RESET <id>` arrives and the gateway is SIGKILLed 0 to 150 ms later, before or after its
    commit; the provider then retries. Whichever side of the commit the kill fell on, the citizen
    gets exactly one password and one reset is active."""
    gw = live()
    key = await create_api_key(gw.env, "records")
    await gw.start()
    delays = [0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.15]
    ids = _national_ids(len(delays))
    numbers = [f"0912555{n:04d}" for n in range(len(delays))]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as http:
        for nid, number in zip(ids, numbers, strict=True):
            body = {
                "mobile": number,
                "status": "activated",
                "first_name": "علی",
                "last_name": "رضایی",
            }
            async with http.put(f"{gw.base}/v1/registrations/{nid}", json=body) as resp:
                assert resp.status == 201, await resp.text()
    for n, (delay, nid, number) in enumerate(zip(delays, ids, numbers, strict=True)):
        sent = asyncio.create_task(_inbound(gw.base, number, f"RESET {nid}", f"in-{n}"))
        await asyncio.sleep(delay)
        await gw.kill()
        with contextlib.suppress(aiohttp.ClientError):
            await sent
        await gw.start()
        await _inbound(gw.base, number, f"RESET {nid}", f"in-{n}")  # the provider's retry
        again = await _inbound(gw.base, number, f"RESET {nid}", f"in-{n}")
        assert again["duplicate"] is True
    await gw.stop()
    for n, (nid, number) in enumerate(zip(ids, numbers, strict=True)):
        resets = query(gw.db, "SELECT status FROM password_resets WHERE national_id = ?", (nid,))
        assert resets == [("active",)], (n, resets)
        texts = query(
            gw.db,
            "SELECT COUNT(*) FROM outbox WHERE recipient = ? AND template_id = 'password_reset'",
            (number,),
        )
        assert texts == [(1,)], n
        seen = query(
            gw.db, "SELECT command FROM inbound_sms WHERE provider_message_id = ?", (f"in-{n}",)
        )
        assert seen == [("reset",)], n
    assert gw.tracebacks() == []


# --- USSD sessions -----------------------------------------------------------------------------

# Screens that wait for input (so a cut-off session is resumable): the path to each, one more
# answer, and the screen that answer leads to (an invalid answer keeps the caller where they are).
PATHS: dict[str, tuple[list[str], str, str]] = {
    "registration": (["1"], "12", "registration"),  # national ID prompt; "12" is refused
    "loans": (["3"], "1", "loan_code"),
    "loan_code": (["3", "1"], "123", "loan_code"),
    "english_loans": (["9", "3"], "1", "english_code"),
    "english_code": (["9", "3", "1"], "1", "english_code"),
    "complaint": (["4"], "1", "workshop"),
    "workshop": (["4", "1"], "1", "description"),
    "description": (["4", "1", "1"], "0", "workshop"),
}
SESSIONS = 240
_ids = itertools.count(1)


class Caller:
    """One phone in the Africa's Talking dialect against a live gateway."""

    def __init__(self, http: aiohttp.ClientSession, base: str, msisdn: str) -> None:
        self.http, self.base, self.msisdn = http, base, msisdn
        self.session_id = ""
        self.history: list[str] = []

    async def dial(self) -> str:
        self.session_id = f"crash-{next(_ids)}"
        self.history = []
        return await self.hop()

    async def send(self, answer: str) -> str:
        self.history.append(answer)
        return await self.hop()

    async def walk(self, answers: list[str]) -> str:
        reply = ""
        for answer in answers:
            reply = await self.send(answer)
        return reply

    async def hop(self) -> str:
        form = {
            "sessionId": self.session_id,
            "serviceCode": "*4455#",
            "phoneNumber": self.msisdn,
            "networkCode": "43211",
            "text": "*".join(self.history),
        }
        async with self.http.post(f"{self.base}/ussd/africastalking", data=form) as resp:
            body = await resp.text()
            assert resp.status == 200, body
            assert body.startswith(("CON ", "END ")), body
            return body


async def test_sigkill_mid_sessions_each_resumes_at_its_screen_or_starts_clean(
    live: Callable[..., LiveGateway],
) -> None:
    gw = live(dispatcher_enabled="false")
    await gw.start()
    names = list(PATHS)
    plan = [names[i % len(names)] for i in range(SESSIONS)]
    movers = SESSIONS // 2  # these answer once more while the process is killed under them
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
        callers = [Caller(http, gw.base, f"0935{i:07d}") for i in range(SESSIONS)]
        home = set(await asyncio.gather(*(c.dial() for c in callers)))
        assert len(home) == 1
        shown = await asyncio.gather(
            *(c.walk(PATHS[p][0]) for c, p in zip(callers, plan, strict=True))
        )
        screen_of: dict[str, str] = {}
        for name, screen in zip(plan, shown, strict=True):
            assert screen.startswith("CON ")
            # Every session on one path sees the same screen: none got another session's.
            assert screen_of.setdefault(name, screen) == screen

        moving = [
            asyncio.ensure_future(c.send(PATHS[p][1]))
            for c, p in zip(callers[:movers], plan, strict=False)
        ]
        await asyncio.sleep(0.03)
        await gw.kill()
        results = await asyncio.gather(*moving, return_exceptions=True)
    cut = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, aiohttp.ClientError) for r in cut), cut

    # Whatever the kill interrupted, every stored state is JSON of a state the engine can run.
    engine = build_engine(SERVICES)
    stored = session_states(gw.db)
    assert len(stored) >= SESSIONS
    for key, status, raw in stored:
        assert State.from_dict(raw).to_dict() == raw, key
        assert raw["node"] in engine.nodes, (key, raw["node"])
        assert status in ("active", "interrupted", "ended")

    await gw.start()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:

        async def again(caller: Caller) -> tuple[str, str | None]:
            fresh = Caller(http, gw.base, caller.msisdn)
            first = await fresh.dial()
            if RESUME_QUESTION.fa not in first and RESUME_QUESTION.en not in first:
                return first, None
            return first, await fresh.send("1")

        answers = await asyncio.gather(*(again(c) for c in callers))
    await gw.stop()

    resumed = clean = 0
    for i, (first, after) in enumerate(answers):
        name = plan[i]
        if after is None:  # a clean start: the main menu, never someone else's screen
            clean += 1
            assert first in home, (name, first)
            assert i < movers, f"{name}: a session whose last hop was answered was not offered"
            continue
        resumed += 1
        expected = {screen_of[name]}
        if i < movers:  # the interrupted hop may or may not have been stored
            expected.add(screen_of[PATHS[name][2]])
        assert after in expected, (name, after, expected)
    assert resumed + clean == SESSIONS
    assert gw.tracebacks() == []
    print(
        f"\ncrash: {SESSIONS} USSD sessions mid-flow on {len(PATHS)} screens, SIGKILL with "
        f"{movers} hops in flight ({len(cut)} cut off), {resumed} resumed at their screen, "
        f"{clean} started clean, 0 corrupt"
    )
