"""`serve --demo`: sample records through the core services, loaded idempotently, and a banner."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.cli.demo import CASES, LOANS, OBJECTION, REGISTRATIONS, load_demo
from gateway.settings import Settings
from sessions import validators
from sessions.records import LOAN_STAGES, REGISTRATION_STATUSES, Complaint, Registration
from sessions.services import registration
from sessions.services.reset import ResetOutcome, request_reset
from tests.api_helpers import call, deps, sms, storage
from tests.conftest import FakeClock, GatewayFactory


def test_sample_identifiers_are_valid() -> None:
    for sample in REGISTRATIONS:
        assert validators.national_id(sample.national_id) == sample.national_id
        assert validators.mobile(sample.mobile) == sample.mobile
    for loan in LOANS:
        assert validators.national_id(loan.national_id) == loan.national_id
        assert validators.tracking_code(loan.tracking_code) == loan.tracking_code
    for case in CASES:
        assert validators.national_id(case.national_id) == case.national_id


def test_samples_cover_every_case() -> None:
    assert {r.status for r in REGISTRATIONS} == set(REGISTRATION_STATUSES)
    stages = {loan.stage for loan in LOANS}
    assert {"bank_no_credit", "rejected"} <= stages <= set(LOAN_STAGES)
    assert OBJECTION.stage == "rejected"
    numbers = {r.mobile for r in REGISTRATIONS} | {loan.mobile for loan in LOANS}
    assert len(numbers) >= 5


async def test_loading_twice_adds_nothing(gateway: GatewayFactory, clock: FakeClock) -> None:
    client = await gateway()
    first = await load_demo(deps(client))
    outbox = await sms(client)
    complaints = await storage(client).find_records(Complaint, {}, limit=100)
    assert len(complaints) == 1
    # Each record's SMS, the ticket's, and the shortest queues for the loan without credit.
    assert len(outbox) == len(REGISTRATIONS) + len(LOANS) + 2

    clock.advance(3600)
    second = await load_demo(deps(client))
    assert second == first
    assert await sms(client) == outbox
    assert await storage(client).find_records(Complaint, {}, limit=100) == complaints
    assert complaints[0].ticket in "\n".join(first)


async def test_samples_behave_as_the_banner_says(gateway: GatewayFactory) -> None:
    client = await gateway()
    await load_demo(deps(client))
    overdue = await storage(client).get_record(Registration, "0045678911")
    assert overdue is not None
    assert overdue.status == "in_review"
    assert registration.overdue(deps(client), overdue)
    for sample in REGISTRATIONS:
        if sample.status == "activated":
            outcome = await request_reset(
                deps(client), sample.national_id, sample.mobile, "fa", "t"
            )
            assert outcome is ResetOutcome.SENT
    [objection] = await storage(client).find_records(
        Complaint, {"msisdn": OBJECTION.mobile}, newest_first=True, limit=10
    )
    assert objection.loan_code == OBJECTION.tracking_code
    assert objection.subject == "loan_rejected"


async def test_serve_demo_prints_a_working_key(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    settings: Settings,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = await aiohttp_client(create_app(settings, clock=clock, demo=True))
    printed = capsys.readouterr().out
    for case in CASES:
        assert case.mobile in printed
    assert "python run.py dial --msisdn" in printed
    [page_url] = re.findall(r"http://\S+/simulator", printed)
    assert page_url.endswith(f"{settings.host}:{settings.port}/simulator")
    assert (await client.get("/simulator")).status == 200
    keys = re.findall(r"dgk_[A-Za-z0-9]{12}_[A-Za-z0-9_\-]{43}", printed)
    assert keys
    auth = {"Authorization": f"Bearer {keys[0]}"}
    status, page = await call(client, "GET", "/v1/complaints", auth)
    assert (status, len(page["items"])) == (200, 1)
    status, loan = await call(client, "GET", "/v1/loans/40010002", auth)
    assert (status, loan["stage"]) == (200, "bank_no_credit")
