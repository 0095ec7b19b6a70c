"""A complaint ticket that collides never overwrites another complaint; filing gives up after a
bounded number of collisions."""

from __future__ import annotations

from typing import Any

import pytest

from sessions.ports import KeyTaken
from sessions.records import Complaint
from sessions.services import complaints
from tests.api_helpers import deps, storage
from tests.conftest import GatewayFactory
from tests.seed import ME, OTHER, sms_to


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
