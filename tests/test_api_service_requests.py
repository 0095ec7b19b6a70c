"""`/v1/service-requests` (seed 004, Kartaban): the whole life cycle with every SMS, every refused
transition, the status data each change needs, ownership by client, and keyset pages."""

from __future__ import annotations

from typing import Any

import pytest

from sessions.records import REQUEST_STATUSES, REQUEST_TRANSITIONS, ServiceRequest
from sessions.services import requests
from tests.api_helpers import Client, bearer, call, deps, sms, storage
from tests.conftest import FakeClock, GatewayFactory

NID = "0012345679"
MOBILE = "09121234567"
OTHER_MOBILE = "09351112233"
BASE = "/v1/service-requests"

# A way to reach each status from `submitted`, with the data each step needs.
STEP: dict[str, dict[str, Any]] = {
    "in_review": {"status": "in_review"},
    "invoiced": {"status": "invoiced", "amount": 2_500_000, "payment_ref": "KB140309"},
    "paid": {"status": "paid"},
    "delivered": {"status": "delivered", "delivery": "written_consultation"},
    "referred": {"status": "referred", "note": "در بخش پرسش و پاسخ بپرسید."},
    "cancelled": {"status": "cancelled"},
}
PATH_TO = {
    "submitted": [],
    "in_review": ["in_review"],
    "referred": ["in_review", "referred"],
    "invoiced": ["in_review", "invoiced"],
    "paid": ["in_review", "invoiced", "paid"],
    "delivered": ["in_review", "invoiced", "paid", "delivered"],
    "cancelled": ["cancelled"],
}


def new(**changes: Any) -> dict[str, Any]:
    body = {
        "national_id": NID,
        "mobile": MOBILE,
        "services": ["labour_law_consultation", "payslip"],
        "description": "محاسبه سنوات و عیدی پایان کار",
    }
    return {**body, **changes}


async def _file(client: Client, headers: dict[str, str], **changes: Any) -> str:
    status, body = await call(client, "POST", BASE, headers, new(**changes))
    assert status == 201, body
    number: str = body["number"]
    return number


async def _walk(client: Client, headers: dict[str, str], number: str, to: str) -> None:
    for step in PATH_TO[to]:
        status, body = await call(client, "PATCH", f"{BASE}/{number}", headers, STEP[step])
        assert status == 200, body


async def test_the_whole_life_cycle_with_an_sms_at_every_change(gateway: GatewayFactory) -> None:
    client = await gateway()
    headers = await bearer(client, "requests", name="kartaban")
    status, body = await call(
        client, "POST", BASE, headers, new(mobile="۰۹۱۲۱۲۳۴۵۶۷", national_id="۰۰۱۲۳۴۵۶۷۹")
    )
    assert status == 201
    number = body["number"]
    assert len(number) == 9
    assert body["status"] == "submitted"
    assert body["client"] == "kartaban"
    assert body["mobile"] == MOBILE
    assert body["services"] == ["labour_law_consultation", "payslip"]
    await _walk(client, headers, number, "delivered")
    status, body = await call(client, "GET", f"{BASE}/{number}", headers)
    assert status == 200
    assert body["status"] == "delivered"
    assert body["amount"] == 2_500_000
    assert body["payment_ref"] == "KB140309"
    assert body["delivery"] == "written_consultation"
    sent = await sms(client, MOBILE)
    assert [m["template_id"] for m in sent] == [
        "request_received",
        "request_in_review",
        "request_invoiced",
        "request_paid",
        "request_delivered",
    ]
    fa_number = number.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert all(fa_number in m["text"] for m in sent)
    assert "۲٬۵۰۰٬۰۰۰ ریال" in sent[2]["text"]
    assert "KB140309" in sent[2]["text"]
    assert "مشاوره کتبی" in sent[4]["text"]


async def test_referral_and_cancellation_send_their_sms(gateway: GatewayFactory) -> None:
    client = await gateway()
    headers = await bearer(client, "requests")
    referred = await _file(client, headers)
    await _walk(client, headers, referred, "referred")
    cancelled = await _file(client, headers, lang="en")
    await _walk(client, headers, cancelled, "invoiced")
    status, _ = await call(client, "PATCH", f"{BASE}/{cancelled}", headers, STEP["cancelled"])
    assert status == 200
    texts = {m["template_id"]: m for m in await sms(client, MOBILE)}
    assert "پرسش و پاسخ" in texts["request_referred"]["text"]
    assert "در بخش پرسش و پاسخ بپرسید." in texts["request_referred"]["text"]
    assert texts["request_cancelled"]["lang"] == "en"
    assert "was cancelled" in texts["request_cancelled"]["text"]


@pytest.mark.parametrize("current", REQUEST_STATUSES)
async def test_every_transition_outside_the_table_is_refused_and_writes_nothing(
    gateway: GatewayFactory, current: str
) -> None:
    client = await gateway()
    headers = await bearer(client, "requests")
    number = await _file(client, headers)
    await _walk(client, headers, number, current)
    before = await storage(client).get_record(ServiceRequest, number)
    outbox = len(await sms(client, MOBILE))
    for wanted in REQUEST_STATUSES:
        if wanted in REQUEST_TRANSITIONS[current]:
            continue
        body = STEP.get(wanted, {"status": wanted})
        status, answer = await call(client, "PATCH", f"{BASE}/{number}", headers, body)
        assert status == 409, (current, wanted, answer)
        assert answer["code"] == "invalid_transition"
        assert current in answer["message"]
        assert wanted in answer["message"]
        assert (answer["current"], answer["wanted"]) == (current, wanted)
    assert await storage(client).get_record(ServiceRequest, number) == before
    assert len(await sms(client, MOBILE)) == outbox


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"status": "invoiced", "payment_ref": "KB1"}, "missing_field", "amount"),
        ({"status": "invoiced", "amount": 1000}, "missing_field", "payment_ref"),
        ({"status": "invoiced", "amount": 0, "payment_ref": "KB1"}, "invalid_field", "amount"),
        ({"status": "invoiced", "amount": "1000", "payment_ref": "KB1"}, "invalid_field", "amount"),
        ({"status": "invoiced", "amount": 10, "payment_ref": "کد"}, "invalid_field", "payment_ref"),
        ({"status": "in_review", "amount": 1000}, "invalid_field", "amount"),
        ({"status": "done"}, "invalid_field", "status"),
        ({}, "missing_field", "status"),
        ({"status": "in_review", "extra": 1}, "unknown_field", "extra"),
    ],
)
async def test_a_bad_change_is_a_400_naming_the_field(
    gateway: GatewayFactory, body: dict[str, Any], code: str, field: str
) -> None:
    client = await gateway()
    headers = await bearer(client, "requests")
    number = await _file(client, headers)
    if body.get("status") == "invoiced":
        await _walk(client, headers, number, "in_review")
    before = await storage(client).get_record(ServiceRequest, number)
    status, answer = await call(client, "PATCH", f"{BASE}/{number}", headers, body)
    assert status == 400, answer
    assert (answer["code"], answer["field"]) == (code, field)
    assert await storage(client).get_record(ServiceRequest, number) == before


async def test_delivery_needs_its_kind(gateway: GatewayFactory) -> None:
    client = await gateway()
    headers = await bearer(client, "requests")
    number = await _file(client, headers)
    await _walk(client, headers, number, "paid")
    bare = {"status": "delivered"}
    status, answer = await call(client, "PATCH", f"{BASE}/{number}", headers, bare)
    assert status == 400
    assert answer["field"] == "delivery"
    status, answer = await call(
        client, "PATCH", f"{BASE}/{number}", headers, {"status": "delivered", "delivery": "fax"}
    )
    assert status == 400
    assert answer["field"] == "delivery"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"services": []}, "services"),
        ({"services": ["payslip", "payslip"]}, "services"),
        ({"services": ["astrology"]}, "services"),
        ({"national_id": "0012345678"}, "national_id"),
        ({"mobile": "0812345678"}, "mobile"),
        ({"description": "x" * 501}, "description"),
        ({"description": "a\x07b"}, "description"),
    ],
)
async def test_a_bad_request_is_a_400_and_files_nothing(
    gateway: GatewayFactory, changes: dict[str, Any], field: str
) -> None:
    client = await gateway()
    headers = await bearer(client, "requests")
    status, answer = await call(client, "POST", BASE, headers, new(**changes))
    assert status == 400
    assert answer["field"] == field
    assert await storage(client).find_records(ServiceRequest, {}) == []
    assert await sms(client, MOBILE) == []


async def test_another_clients_request_is_not_found(gateway: GatewayFactory) -> None:
    client = await gateway()
    mine = await bearer(client, "requests", name="kartaban")
    theirs = await bearer(client, "requests", name="other-portal")
    number = await _file(client, mine)
    assert (await call(client, "GET", f"{BASE}/{number}", theirs))[0] == 404
    status, answer = await call(client, "PATCH", f"{BASE}/{number}", theirs, STEP["cancelled"])
    assert status == 404
    assert answer["code"] == "not_found"
    record = await storage(client).get_record(ServiceRequest, number)
    assert record is not None
    assert record.status == "submitted"
    assert (await call(client, "GET", BASE, theirs))[1]["items"] == []
    # A citizen's own request (filed by USSD) is the staff's: every client with the scope.
    citizen = await requests.file(deps(client), OTHER_MOBILE, ["payroll"], channel="ussd")
    assert citizen is not None
    for headers in (mine, theirs):
        status, body = await call(client, "GET", f"{BASE}/{citizen.number}", headers)
        assert status == 200
        assert body["client"] == ""
    records_only = await bearer(client, "records")
    assert (await call(client, "GET", f"{BASE}/{number}", records_only))[0] == 403


async def test_unknown_and_malformed_numbers_are_not_found(gateway: GatewayFactory) -> None:
    client = await gateway()
    headers = await bearer(client, "requests")
    for path in ("123456789", "abc", "1" * 40, "۱۲۳۴۵۶۷۸۹"):
        status, body = await call(client, "GET", f"{BASE}/{path}", headers)
        assert status == 404, path
        assert body["code"] == "not_found"
    status, _ = await call(client, "PATCH", f"{BASE}/123456789", headers, STEP["in_review"])
    assert status == 404


async def test_the_list_pages_by_keyset_and_filters(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    headers = await bearer(client, "requests")
    numbers = []
    for i in range(5):
        numbers.append(await _file(client, headers, mobile=MOBILE if i % 2 else OTHER_MOBILE))
        clock.advance(60)
    await _walk(client, headers, numbers[0], "in_review")
    seen: list[str] = []
    cursor = None
    while True:
        query = f"{BASE}?limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page = await call(client, "GET", query, headers)
        assert status == 200
        seen += [item["number"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == numbers
    _, page = await call(client, "GET", f"{BASE}?status=in_review", headers)
    assert [i["number"] for i in page["items"]] == [numbers[0]]
    _, page = await call(client, "GET", f"{BASE}?mobile=۰۹۱۲۱۲۳۴۵۶۷", headers)
    assert [i["number"] for i in page["items"]] == [numbers[1], numbers[3]]
    status, body = await call(client, "GET", f"{BASE}?cursor=bm9wZQ", headers)
    assert status == 400
    assert body["field"] == "cursor"


# --- attacks -----------------------------------------------------------------------------------


async def test_two_changes_at_once_one_wins_and_one_sms_goes(gateway: GatewayFactory) -> None:
    import asyncio

    client = await gateway()
    headers = await bearer(client, "requests")
    number = await _file(client, headers)
    await _walk(client, headers, number, "invoiced")  # paid and cancelled exclude each other
    answers = await asyncio.gather(
        call(client, "PATCH", f"{BASE}/{number}", headers, STEP["paid"]),
        call(client, "PATCH", f"{BASE}/{number}", headers, STEP["cancelled"]),
    )
    assert sorted(status for status, _ in answers) == [200, 409]
    record = await storage(client).get_record(ServiceRequest, number)
    assert record is not None
    templates = [m["template_id"] for m in await sms(client, MOBILE)]
    assert templates[3:] == [f"request_{record.status}"]


async def test_filings_at_once_never_pass_the_cap(gateway: GatewayFactory) -> None:
    import asyncio

    client = await gateway()
    d = deps(client)
    filed = await asyncio.gather(
        *(requests.file(d, MOBILE, ["payslip"], channel="ussd", capped=True) for _ in range(6))
    )
    assert sum(r is not None for r in filed) == d.policy.max_unfinished_requests
    assert await requests.count_unfinished(d, MOBILE) == d.policy.max_unfinished_requests


async def test_hostile_bodies_and_paths_are_4xx(gateway: GatewayFactory) -> None:
    client = await gateway()
    headers = await bearer(client, "requests")
    deep = b"[" * 5000 + b"]" * 5000
    status, body = await call(client, "POST", BASE, headers, raw=deep)
    assert (status, body["code"]) == (400, "too_deep")
    status, body = await call(client, "POST", BASE, headers, {**new(), "services": [["x"]]})
    assert status == 400
    assert body["field"] == "services"
    assert (await call(client, "GET", f"{BASE}/{'9' * 5000}", headers))[0] == 404
    status, body = await call(client, "GET", f"{BASE}?limit=0", headers)
    assert status == 400
    assert body["field"] == "limit"
    status, body = await call(client, "GET", f"{BASE}?status=open", headers)
    assert status == 400
    assert body["field"] == "status"
    assert await storage(client).find_records(ServiceRequest, {}) == []


async def test_the_audit_trail_keeps_each_change_and_nothing_refused(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    mine = await bearer(client, "requests", name="kartaban")
    theirs = await bearer(client, "requests", name="other-portal")
    number = await _file(client, mine)
    await _walk(client, mine, number, "in_review")
    assert (await call(client, "PATCH", f"{BASE}/{number}", mine, STEP["paid"]))[0] == 409
    assert (await call(client, "PATCH", f"{BASE}/{number}", theirs, STEP["cancelled"]))[0] == 404
    citizen = await requests.file(deps(client), OTHER_MOBILE, ["payroll"], channel="ussd")
    assert citizen is not None
    trail = await storage(client).find_audit(action="service_requests.")
    assert [(e.action, e.client) for e in trail] == [  # newest first
        ("service_requests.changed", "kartaban"),
        ("service_requests.created", "kartaban"),
    ]
    assert trail[0].before is not None
    assert trail[0].after is not None
    assert (trail[0].before["status"], trail[0].after["status"]) == ("submitted", "in_review")
