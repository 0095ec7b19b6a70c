"""`GET /v1/complaints`, `GET|PATCH /v1/complaints/{ticket}`: filters, keyset pages, notices."""

from __future__ import annotations

from typing import Any

import pytest

from sessions.records import Complaint
from sessions.services import complaints
from tests.api_helpers import Client, bearer, call, deps, sms, storage
from tests.conftest import FakeClock, GatewayFactory

DAY = 24 * 3600


async def file(client: Client, msisdn: str = "09121234567", **extra: Any) -> Complaint:
    complaint = await complaints.file(deps(client), msisdn, "other", **extra)
    assert complaint is not None
    return complaint


async def staff(gateway: GatewayFactory) -> tuple[Client, dict[str, str]]:
    client = await gateway()
    return client, await bearer(client, "complaints")


async def three_days_apart(client: Client, clock: FakeClock) -> list[Complaint]:
    """Filed on 1404/09/01, 09/03 and 09/05 (the fake clock starts 2025-11-22 11:56 Tehran)."""
    filed = []
    for msisdn in ("09121110001", "09121110002", "09121110003"):
        filed.append(await file(client, msisdn))
        clock.advance(2 * DAY)
    return filed


def tickets(page: dict[str, Any]) -> list[str]:
    return [item["ticket"] for item in page["items"]]


async def test_list_everything_oldest_first(gateway: GatewayFactory, clock: FakeClock) -> None:
    client, auth = await staff(gateway)
    a, b, c = await three_days_apart(client, clock)
    status, page = await call(client, "GET", "/v1/complaints", auth)
    assert status == 200
    assert tickets(page) == [a.ticket, b.ticket, c.ticket]
    assert page["next_cursor"] is None
    first = page["items"][0]
    assert first["msisdn"] == "09121110001"
    assert first["status"] == "open"
    assert first["created_at"].endswith("Z")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("from=1404/09/02", [1, 2]),
        ("to=1404/09/03", [0, 1]),  # a bare date as `to` includes that day
        ("from=1404/09/02&to=1404/09/03", [1]),
        ("from=۱۴۰۴/۰۹/۰۲&to=۱۴۰۴/۰۹/۰۳", [1]),
        ("from=2025-11-24", [1, 2]),
        ("from=2025-11-24T12:00:00%2B03:30", [2]),
        ("to=1404/09/03%2011:00", [0]),
        ("from=1404/09/06", []),
    ],
)
async def test_date_filters(
    gateway: GatewayFactory, clock: FakeClock, query: str, expected: list[int]
) -> None:
    client, auth = await staff(gateway)
    filed = await three_days_apart(client, clock)
    status, page = await call(client, "GET", f"/v1/complaints?{query}", auth)
    assert status == 200
    assert tickets(page) == [filed[i].ticket for i in expected]


async def test_status_filter(gateway: GatewayFactory, clock: FakeClock) -> None:
    client, auth = await staff(gateway)
    a, b, c = await three_days_apart(client, clock)
    await complaints.update(deps(client), b.ticket, "in_review", None, "staff")
    _, page = await call(client, "GET", "/v1/complaints?status=in_review", auth)
    assert tickets(page) == [b.ticket]
    _, page = await call(client, "GET", "/v1/complaints?status=open", auth)
    assert tickets(page) == [a.ticket, c.ticket]


async def test_pages_walk_every_ticket_once(gateway: GatewayFactory, clock: FakeClock) -> None:
    client, auth = await staff(gateway)
    filed = []
    for i in range(7):
        filed.append(await file(client, f"0912111{i:04d}"))
        if i % 3 == 0:
            clock.advance(1)  # some share a timestamp: the ticket breaks the tie
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        path = "/v1/complaints?limit=3" + (f"&cursor={cursor}" if cursor else "")
        status, page = await call(client, "GET", path, auth)
        assert status == 200
        assert len(page["items"]) <= 3
        seen += tickets(page)
        pages += 1
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert pages == 3
    assert sorted(seen) == sorted(c.ticket for c in filed)
    assert len(seen) == len(set(seen))


async def test_a_page_that_ends_exactly_has_no_cursor(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client, auth = await staff(gateway)
    await three_days_apart(client, clock)
    _, page = await call(client, "GET", "/v1/complaints?limit=3", auth)
    assert len(page["items"]) == 3
    assert page["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("status=lost", "invalid_field", "status"),
        ("status=", "invalid_field", "status"),
        ("from=yesterday", "invalid_field", "from"),
        ("from=1404/13/01", "invalid_field", "from"),
        ("to=2025-02-30", "invalid_field", "to"),
        ("to=99999-01-01", "invalid_field", "to"),
        ("limit=0", "invalid_field", "limit"),
        ("limit=201", "invalid_field", "limit"),
        ("limit=ten", "invalid_field", "limit"),
        ("limit=" + "9" * 5000, "invalid_field", "limit"),
        ("cursor=nonsense", "invalid_field", "cursor"),
        ("cursor=WzEsIDJd", "invalid_field", "cursor"),  # [1, 2]
        ("cursor=WyJ4IiwgIjEiXQ", "invalid_field", "cursor"),  # ["x", "1"]
        ("cursor=%D8%B4", "invalid_field", "cursor"),
        ("status=open&status=closed", "invalid_field", "status"),
        ("state=open", "unknown_field", "state"),
    ],
)
async def test_bad_filters_are_400(
    gateway: GatewayFactory, query: str, code: str, field: str
) -> None:
    client, auth = await staff(gateway)
    status, answer = await call(client, "GET", f"/v1/complaints?{query}", auth)
    assert status == 400
    assert (answer["code"], answer["field"]) == (code, field)


async def test_limit_in_persian_digits(gateway: GatewayFactory, clock: FakeClock) -> None:
    client, auth = await staff(gateway)
    await three_days_apart(client, clock)
    status, page = await call(client, "GET", "/v1/complaints?limit=۲", auth)
    assert status == 200
    assert len(page["items"]) == 2
    assert page["next_cursor"]


async def test_get_one_ticket(gateway: GatewayFactory) -> None:
    client, auth = await staff(gateway)
    filed = await file(client, body="وام من رد شد", workshop_code="123456")
    status, got = await call(client, "GET", f"/v1/complaints/{filed.ticket}", auth)
    assert status == 200
    assert got["ticket"] == filed.ticket
    assert (got["body"], got["workshop_code"], got["subject"]) == (
        "وام من رد شد",
        "123456",
        "other",
    )
    persian = filed.ticket.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    status, again = await call(client, "GET", f"/v1/complaints/{persian}", auth)
    assert (status, again) == (200, got)


@pytest.mark.parametrize("ticket", ["99999999", "abc", "1" * 40])
async def test_unknown_ticket_is_404(gateway: GatewayFactory, ticket: str) -> None:
    client, auth = await staff(gateway)
    status, answer = await call(client, "GET", f"/v1/complaints/{ticket}", auth)
    assert (status, answer["code"]) == (404, "not_found")
    status, answer = await call(
        client, "PATCH", f"/v1/complaints/{ticket}", auth, {"status": "closed"}
    )
    assert (status, answer["code"]) == (404, "not_found")


async def test_patch_notifies_on_a_status_change_only(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client, auth = await staff(gateway)
    filed = await file(client)
    path = f"/v1/complaints/{filed.ticket}"
    received = len(await sms(client, filed.msisdn))  # the ticket's own "received" SMS

    clock.advance(60)
    status, body = await call(client, "PATCH", path, auth, {"status": "in_review"})
    assert (status, body["status"]) == (200, "in_review")
    assert body["updated_at"] > body["created_at"]
    messages = await sms(client, filed.msisdn)
    assert len(messages) == received + 1
    assert messages[-1]["template_id"] == "complaint_status_changed"
    assert "در دست بررسی" in messages[-1]["body"]
    assert messages[-1]["source"] == "portal"

    status, body = await call(client, "PATCH", path, auth, {"status": "in_review"})
    assert status == 200
    status, body = await call(client, "PATCH", path, auth, {"answer": "در حال پیگیری"})
    assert (status, body["answer"]) == (200, "در حال پیگیری")
    assert len(await sms(client, filed.msisdn)) == received + 1

    answer = "درخواست شما بررسي و تأييد شد"  # Arabic yeh, stored with Persian yeh
    status, body = await call(client, "PATCH", path, auth, {"status": "answered", "answer": answer})
    assert (status, body["status"]) == (200, "answered")
    assert body["answer"] == "درخواست شما بررسی و تأیید شد"
    last = (await sms(client, filed.msisdn))[-1]
    assert "پاسخ داده شد" in last["body"]
    assert "درخواست شما بررسی و تأیید شد" in last["body"]
    assert len(await sms(client, filed.msisdn)) == received + 2


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "missing_field", "status"),
        ({"status": None, "answer": None}, "missing_field", "status"),
        ({"status": "done"}, "invalid_field", "status"),
        ({"status": 1}, "invalid_field", "status"),
        ({"answer": "ش" * 101}, "invalid_field", "answer"),
        ({"answer": "a\x07b"}, "invalid_field", "answer"),
        ({"answer": ["x"]}, "invalid_field", "answer"),
        ({"status": "closed", "note": "x"}, "unknown_field", "note"),
    ],
)
async def test_bad_patch_is_400_and_nothing_changes(
    gateway: GatewayFactory, body: dict[str, Any], code: str, field: str
) -> None:
    client, auth = await staff(gateway)
    filed = await file(client)
    before = await sms(client)
    status, answer = await call(client, "PATCH", f"/v1/complaints/{filed.ticket}", auth, body)
    assert status == 400
    assert (answer["code"], answer["field"]) == (code, field)
    assert await storage(client).get_record(Complaint, filed.ticket) == filed
    assert await sms(client) == before


async def test_answer_of_the_full_sms_budget_renders(gateway: GatewayFactory) -> None:
    client, auth = await staff(gateway)
    filed = await file(client)
    body = {"status": "closed", "answer": "ش" * 100}
    status, _ = await call(client, "PATCH", f"/v1/complaints/{filed.ticket}", auth, body)
    assert status == 200
    assert "ش" * 100 in (await sms(client, filed.msisdn))[-1]["body"]
