"""Load: thousands of USSD sessions open at once, each with its own number, session id and input,
through the real menus of a real server; and hops of one session that arrive together.

Every session looks up its own loan by its own tracking code, so an answer that belonged to another
session would show the wrong code and branch. Between hops every session waits for all the others
(a barrier), so all of them are held open, mid-flow, at the same time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from gateway.appkeys import STORAGE
from sessions.normalize import to_persian_digits
from sessions.records import LOAN_STAGES, Loan
from tests.conftest import GatewayFactory
from tests.dispatch_kit import Client

SESSIONS = 2000
PAIRS = 200
CONNECTIONS = 128  # the load generator's bound on requests in flight
NID = "0013542419"


def msisdn(i: int) -> str:
    return f"0912{3_000_000 + i:07d}"


def code(i: int) -> str:
    return f"{40_000_000 + i * 7:08d}"


async def seed_loans(client: Client, n: int) -> None:
    store = client.app[STORAGE]
    for i in range(n):
        loan = Loan(
            code(i),
            NID,
            msisdn(i),
            LOAN_STAGES[i % len(LOAN_STAGES)],
            bank="بانک ملت",
            branch=f"شعبه {i}",
            amount=1000 + i,
        )
        await store.put_record(loan, lambda old, new: [])


class Session:
    """One caller in the Africa's Talking dialect."""

    def __init__(self, http: aiohttp.ClientSession, url: str, i: int) -> None:
        self.http, self.url, self.i = http, url, i
        self.session_id = f"load-{i}-{time.monotonic_ns()}"
        self.history: list[str] = []

    async def hop(self, text: str) -> str:
        form = {
            "sessionId": self.session_id,
            "serviceCode": "*4455#",
            "phoneNumber": msisdn(self.i),
            "networkCode": "43211",
            "text": text,
        }
        async with self.http.post(self.url, data=form) as resp:
            body = await resp.text()
            assert resp.status == 200, body
            return body

    async def send(self, answer: str | None) -> str:
        if answer is not None:
            self.history.append(answer)
        return await self.hop("*".join(self.history))


@pytest.fixture
async def client(gateway: GatewayFactory) -> Client:
    return await gateway()


async def run_sessions(
    http: aiohttp.ClientSession, url: str, n: int
) -> tuple[list[tuple[str, list[str]]], float]:
    """(session id, replies) per session, and the seconds it all took."""
    barrier = asyncio.Barrier(n)

    async def one(i: int) -> tuple[str, list[str]]:
        s = Session(http, url, i)
        replies = []
        for answer in (None, "3", "1", code(i)):
            replies.append(await s.send(answer))
            await barrier.wait()  # every session is open, mid-flow, before anyone goes on
        return s.session_id, replies

    start = time.monotonic()
    results = await asyncio.gather(*(one(i) for i in range(n)))
    return results, time.monotonic() - start


@pytest.mark.timeout(120)
async def test_thousands_of_concurrent_sessions_each_get_their_own_answers(
    client: Client,
) -> None:
    await seed_loans(client, SESSIONS)
    url = str(client.server.make_url("/ussd/africastalking"))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as http:
        results, took = await run_sessions(http, url, SESSIONS)
    home, menu, prompt = results[0][1][:3]
    assert all(reply.startswith("CON ") for reply in (home, menu, prompt))
    assert "۳ تسهیلات" in home
    assert "با کد رهگیری" in menu
    assert "کد رهگیری" in prompt
    wrong: list[tuple[int, list[str]]] = []
    store = client.app[STORAGE]
    for i, (session_id, (h, m, p, answer)) in enumerate(results):
        # The loan screen starts with the session's own code; its pages name its own branch.
        found = await store.get_session(f"africastalking:{session_id}")
        assert found is not None
        pages = "\n".join(found.state["pages"])
        mine = (
            answer.split(" ", 1)[1].startswith(to_persian_digits(code(i)))
            and f"، شعبه {to_persian_digits(str(i))}\n" in pages
            and (found.msisdn, found.state["data"]["code"]) == (msisdn(i), code(i))
        )
        if (h, m, p) != (home, menu, prompt) or not mine:
            wrong.append((i, [h, m, p, answer]))
    assert wrong == []
    hops = SESSIONS * 4
    print(
        f"\nload: {SESSIONS} sessions held at once, {hops} hops in {took:.1f} s "
        f"({hops / took:.0f} hops/s, {CONNECTIONS} connections), 0 errors, 0 mixed"
    )


# --- two hops of one session at once -----------------------------------------------------------


async def stored_state(client: Client, session_id: str) -> tuple[dict[str, Any], str | None]:
    found = await client.app[STORAGE].get_session(f"africastalking:{session_id}")
    assert found is not None
    return found.state, found.last_hop_key


async def at_once(*calls: Callable[[], Awaitable[str]]) -> list[str]:
    return list(await asyncio.gather(*(c() for c in calls)))


async def test_two_hops_of_one_session_at_once_are_serialised(client: Client) -> None:
    url = str(client.server.make_url("/ussd/africastalking"))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as http:
        # What one caller sees, one hop after the other: the reference.
        ref = Session(http, url, 10_000)
        await ref.send(None)
        menu = await ref.send("3")
        prompt = await ref.send("1")
        ref_state, _ = await stored_state(client, ref.session_id)
        swapped = Session(http, url, 10_001)
        await swapped.send(None)
        wrong_first = await swapped.hop("3*1")
        # "3" after "3*1" is an older history: a late retry, answered with the current screen.
        menu_second = await swapped.hop("3")
        swapped_state, _ = await stored_state(client, swapped.session_id)
        retry_ref = Session(http, url, 10_002)
        await retry_ref.send(None)
        await retry_ref.send("3")
        retry_state, _ = await stored_state(client, retry_ref.session_id)

        async def pair(i: int) -> None:
            # The same hop twice (an operator's retry racing the original): one step, one answer.
            s = Session(http, url, 20_000 + i)
            await s.send(None)
            first, second = await at_once(lambda: s.hop("3"), lambda: s.hop("3"))
            assert first == second == menu
            state, last = await stored_state(client, s.session_id)
            assert (state, last) == (retry_state, "3")
            # Two different hops together: one after the other, in either order, never mixed.
            t = Session(http, url, 30_000 + i)
            await t.send(None)
            a, b = await at_once(lambda: t.hop("3"), lambda: t.hop("3*1"))
            state, last = await stored_state(client, t.session_id)
            if (a, b) == (menu, prompt):
                assert (state, last) == (ref_state, "3*1")
            else:
                assert (a, b) == (menu_second, wrong_first), (a, b)
                assert (state, last) == (swapped_state, "3*1")

        await asyncio.gather(*(pair(i) for i in range(PAIRS)))
    print(f"\nload: {PAIRS} retried hops and {PAIRS} racing hop pairs, each serialised")
