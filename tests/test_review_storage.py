"""Storage safety: a complaint ticket collision never overwrites another complaint, and an inbound
SMS whose answer failed is answered when the provider retries it."""

from __future__ import annotations

from typing import Any

import pytest

from sessions.keywords import Parsed
from sessions.ports import Busy, KeyTaken, StoredSession
from sessions.records import Complaint
from sessions.services import complaints
from sessions.services.deps import Deps
from sessions.services.sms_commands import answer
from sessions.ussd import UNAVAILABLE
from tests.api_helpers import Client, bearer, deps, storage
from tests.conftest import GatewayFactory
from tests.phone import Phone
from tests.seed import ME, OTHER, sms_to

KAVENEGAR = {
    "sms_provider": "kavenegar",
    "kavenegar_api_key": "test-key",
    "kavenegar_sender": "10004346",
    "kavenegar_base_url": "http://127.0.0.1:9",  # never reached: the dispatcher is off
}


async def test_a_colliding_ticket_leaves_the_other_complaint_alone(
    gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await gateway()
    first = await complaints.file(deps(client), ME, "registration", body="mine", lang="en")
    assert first is not None
    drawn = iter([first.ticket, "87654321"])
    monkeypatch.setattr(complaints, "make_ticket", lambda: next(drawn))

    second = await complaints.file(deps(client), OTHER, "other", body="theirs", lang="en")

    assert second is not None
    assert second.ticket == "87654321"
    assert await storage(client).get_record(Complaint, first.ticket) == first
    assert await storage(client).get_record(Complaint, "87654321") == second
    [mine] = await sms_to(client, ME, "complaint_received")
    assert first.ticket in mine["body"]
    [notice] = await sms_to(client, OTHER, "complaint_received")
    assert "87654321" in notice["body"]


async def test_a_taken_ticket_is_refused_by_the_storage(gateway: GatewayFactory) -> None:
    client = await gateway()
    store = storage(client)
    now = deps(client).clock()
    mine = Complaint("11112222", ME, "other", body="mine", created_at=now, updated_at=now)
    assert await store.create_record(mine, lambda old, new: []) == mine
    theirs = Complaint("11112222", OTHER, "registration", body="x", created_at=now, updated_at=now)
    notified: list[Complaint] = []

    def notify(old: Complaint | None, new: Complaint) -> list[Any]:
        notified.append(new)
        return []

    with pytest.raises(KeyTaken):
        await store.create_record(theirs, notify)
    assert await store.get_record(Complaint, "11112222") == mine
    assert notified == []
    assert await store.count_records(Complaint, {"msisdn": OTHER}, done=("closed",)) == 0


async def test_filing_gives_up_after_a_bounded_number_of_collisions(
    gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await gateway()
    first = await complaints.file(deps(client), ME, "other")
    assert first is not None
    draws: list[str] = []

    def always_taken() -> str:
        draws.append(first.ticket)
        return first.ticket

    monkeypatch.setattr(complaints, "make_ticket", always_taken)
    with pytest.raises(KeyTaken):
        await complaints.file(deps(client), OTHER, "other")
    assert len(draws) == complaints.TICKET_TRIES
    assert await storage(client).get_record(Complaint, first.ticket) == first
    assert await storage(client).count_records(Complaint, {"msisdn": OTHER}, done=("closed",)) == 0


async def post_inbound(client: Client, text: str, msgid: str) -> Any:
    form = {"from": "989121234567", "to": "10004346", "message": text, "messageid": msgid}
    return await client.post("/sms/kavenegar/inbound", data=form)


async def test_an_inbound_sms_whose_answer_failed_is_answered_on_the_retry(
    gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await gateway(**KAVENEGAR)
    calls = 0

    async def fails_once(gateway_deps: Deps, sender: str, text: str) -> Parsed:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the database went away")
        return await answer(gateway_deps, sender, text)

    monkeypatch.setattr("sessions.services.inbound.answer", fails_once)

    failed = await post_inbound(client, "HELP", "777001")
    assert failed.status == 500
    assert await sms_to(client, ME) == []

    retried = await post_inbound(client, "HELP", "777001")
    assert retried.status == 200, await retried.text()
    assert await retried.json() == {"accepted": True, "duplicate": False}
    [reply] = await sms_to(client, ME)
    assert reply["template_id"] == "keyword_help"

    again = await post_inbound(client, "HELP", "777001")
    assert await again.json() == {"accepted": True, "duplicate": True}
    assert len(await sms_to(client, ME)) == 1
    assert calls == 2


async def test_a_session_state_reads_back_as_it_was_written(gateway: GatewayFactory) -> None:
    """Persian text, nesting, and a lone surrogate (which a JSON dialect's `\\ud800` can carry)."""
    client = await gateway()
    store = storage(client)
    state = {"node": "home", "data": {"text": "سلام\u200cها", "odd": "\ud800!"}, "saved": {"n": 1}}
    session = StoredSession(
        key="json:s1",
        msisdn=ME,
        state=state,
        status="active",
        last_hop_key="1",
        last_reply_text="CON",
        last_reply_end=False,
        created_at=1.0,
        updated_at=2.0,
    )
    await store.put_session(session)
    assert await store.get_session("json:s1") == session


async def test_storage_held_elsewhere_is_busy_not_broken(
    gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A lock held by another process past its limit: the API answers 503 `busy` with
    Retry-After, a USSD caller gets the polite screen, and the log has a warning, no trace."""
    client = await gateway()
    auth = await bearer(client, "records")
    store = storage(client)

    async def held(*args: Any, **kwargs: Any) -> Any:
        raise Busy("lock slot busy for over 10 s")

    monkeypatch.setattr(store, "get_record", held)
    monkeypatch.setattr(store, "get_session", held)
    monkeypatch.setattr(store, "session_or_latest", held)  # a new session's first read
    resp = await client.get("/v1/registrations/0013542419", headers=auth)
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "1"
    assert (await resp.json())["code"] == "busy"
    hop = await Phone(client).dial()
    assert hop.startswith("END ")
    assert UNAVAILABLE.fa in hop
    assert not [r for r in caplog.records if r.exc_info]
    warned = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 2
    assert all("busy for over" in r.getMessage() for r in warned)
