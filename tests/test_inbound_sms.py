"""SMS keywords through the providers' inbound callbacks: every keyword in both languages and
every digit script, duplicates, unknown words, and the `sms/receive` poller."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from sessions.records import Complaint
from tests.api_helpers import Client
from tests.conftest import FakeClock, GatewayFactory
from tests.postgres_kit import sqlite_only
from tests.seed import ME, NID, OTHER, add_loan, add_registration, deps, sms_to

KAVENEGAR = {
    "sms_provider": "kavenegar",
    "kavenegar_api_key": "test-key",
    "kavenegar_sender": "10004346",
    "kavenegar_base_url": "http://127.0.0.1:9",  # never reached: the dispatcher is off
}
_ids = iter(range(10_000, 99_999))


async def inbound(client: Client, text: str, sender: str = "989121234567", msgid: str = "") -> Any:
    form = {
        "from": sender,
        "to": "10004346",
        "message": text,
        "messageid": msgid or str(next(_ids)),
    }
    resp = await client.post("/sms/kavenegar/inbound", data=form)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def replies(client: Client, msisdn: str = ME) -> list[dict[str, Any]]:
    return await sms_to(client, msisdn)


TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
TO_ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SCRIPTS = [
    pytest.param(str.maketrans("", ""), id="ascii"),
    pytest.param(TO_PERSIAN, id="persian"),
    pytest.param(TO_ARABIC, id="arabic-indic"),
]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize(
    ("keyword", "lang"), [("وضعیت", "fa"), ("وضعيت", "fa"), ("STATUS", "en"), ("status", "en")]
)
async def test_loan_status_keyword(
    gateway: GatewayFactory, script: Any, keyword: str, lang: str
) -> None:
    client = await gateway(**KAVENEGAR)
    await add_loan(client, "12345678", "bank_no_credit")
    await inbound(client, f"{keyword} {'12345678'.translate(script)}")
    [reply] = [r for r in await replies(client) if r["template_id"] == "reply_loan_status"]
    assert reply["lang"] == lang
    assert ("بانک یا شعبه را تغییر دهید" if lang == "fa" else "change bank or branch") in reply[
        "body"
    ]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize(("keyword", "lang"), [("پیگیری", "fa"), ("پی‌گیری", "fa"), ("REG", "en")])
async def test_registration_keyword(
    gateway: GatewayFactory, script: Any, keyword: str, lang: str
) -> None:
    client = await gateway(**KAVENEGAR)
    await add_registration(client, status="approved_visit_branch")
    before = len(await replies(client))
    await inbound(client, f"  {keyword}   {NID.translate(script)} ")
    [reply] = (await replies(client))[before:]
    assert reply["template_id"] == "reply_registration_status"
    assert reply["lang"] == lang


@pytest.mark.parametrize(("keyword", "lang"), [("رمز", "fa"), ("RESET", "en"), ("reset", "en")])
async def test_reset_keyword_sends_the_password_to_the_owner(
    gateway: GatewayFactory, keyword: str, lang: str
) -> None:
    client = await gateway(**KAVENEGAR)
    await add_registration(client, status="activated")
    before = len(await replies(client))
    await inbound(client, f"{keyword} {NID.translate(TO_PERSIAN)}")
    [sms] = (await replies(client))[before:]
    assert sms["template_id"] == "password_reset"
    assert sms["lang"] == lang


async def test_reset_for_someone_elses_id_reveals_nothing(gateway: GatewayFactory) -> None:
    client = await gateway(**KAVENEGAR)
    await add_registration(client, status="activated")
    await inbound(client, f"رمز {NID}", sender="09351112233")
    [reply] = await replies(client, OTHER)
    assert reply["template_id"] == "reply_reset_requested"
    assert [r for r in await replies(client) if r["template_id"] == "password_reset"] == []


@pytest.mark.parametrize(("keyword", "lang"), [("اعتراض", "fa"), ("TICKET", "en")])
async def test_complaint_keyword_files_a_ticket(
    gateway: GatewayFactory, keyword: str, lang: str
) -> None:
    client = await gateway(**KAVENEGAR)
    await inbound(client, f"{keyword} وام من بدون دلیل رد شد")
    [complaint] = await deps(client).store.find_records(Complaint, {}, limit=10)
    assert (complaint.channel, complaint.subject, complaint.body) == (
        "sms",
        "other",
        "وام من بدون دلیل رد شد",
    )
    [reply] = await replies(client)
    assert reply["template_id"] == "complaint_received"
    assert reply["lang"] == lang


@pytest.mark.parametrize("text", ["راهنما", "HELP", "help", "?", "؟", "سلام", "hello there", ""])
async def test_help_and_anything_not_understood_gets_help(
    gateway: GatewayFactory, text: str
) -> None:
    client = await gateway(**KAVENEGAR)
    await inbound(client, text)
    [reply] = await replies(client)
    assert reply["template_id"] == "keyword_help"
    assert reply["recipient"] == ME


async def test_unknown_code_answers_not_found_without_revealing(gateway: GatewayFactory) -> None:
    client = await gateway(**KAVENEGAR)
    await add_loan(client, "12345678", "approved")  # someone else's from the sender's view
    await inbound(client, "status 12345678", sender="09351112233")
    await inbound(client, "status 87654321", sender="09351112233")
    first, second = await replies(client, OTHER)
    assert first["template_id"] == second["template_id"] == "reply_not_found"
    assert first["body"] == second["body"]


async def test_a_repeated_callback_is_answered_once(gateway: GatewayFactory) -> None:
    client = await gateway(**KAVENEGAR)
    first = await inbound(client, "HELP", msgid="777")
    again = await inbound(client, "HELP", msgid="777")
    assert first == {"accepted": True, "duplicate": False}
    assert again == {"accepted": True, "duplicate": True}
    assert len(await replies(client)) == 1


@sqlite_only
async def test_an_inbound_sms_on_sqlite_takes_only_its_units_savepoint(
    gateway: GatewayFactory,
) -> None:
    """Its writes (the claim, each limit, the reply) are single statements or stand on their
    own: the unit's savepoint, which undoes it alone within its group, is the only one."""
    from gateway.storage.sqlite.database import SqliteDatabase

    client = await gateway(**KAVENEGAR)
    await add_loan(client, "12345678", "bank_no_credit")
    db = getattr(deps(client).store, "db", None)
    assert isinstance(db, SqliteDatabase)
    said: list[str] = []
    db.raw.set_trace_callback(said.append)
    try:
        await inbound(client, "وضعیت 12345678")
    finally:
        db.raw.set_trace_callback(None)
    marks = [sql for sql in said if sql.split(" ", 1)[0] in ("SAVEPOINT", "RELEASE", "ROLLBACK")]
    assert marks == ["SAVEPOINT unit", "RELEASE unit"], marks
    assert len(await sms_to(client, ME, "reply_loan_status")) == 1


@sqlite_only
async def test_a_message_is_known_again_by_its_claim_alone(gateway: GatewayFactory) -> None:
    """No read of the taken messages before the claim: the claim tells a repeat, which is
    answered as a duplicate with nothing written (its reply, its limits), once a read finds the
    first taking committed."""
    from gateway.storage.sqlite.database import SqliteDatabase

    client = await gateway(**KAVENEGAR)
    db = getattr(deps(client).store, "db", None)
    assert isinstance(db, SqliteDatabase)
    said: list[str] = []
    db.raw.set_trace_callback(said.append)
    try:
        first = await inbound(client, "HELP", msgid="778")
        again = await inbound(client, "HELP", msgid="778")
    finally:
        db.raw.set_trace_callback(None)
    assert first == {"accepted": True, "duplicate": False}
    assert again == {"accepted": True, "duplicate": True}
    taken = [sql.split(" ", 1)[0] for sql in said if "inbound_sms" in sql]
    assert taken == ["INSERT", "INSERT", "SELECT"], taken
    assert len(await replies(client)) == 1
    counted = db.raw.execute("SELECT count FROM rate_limits WHERE key LIKE 'sms-answer:%'")
    assert [row[0] for row in counted] == [1]


async def test_malformed_inbound_is_400_and_unknown_provider_404(gateway: GatewayFactory) -> None:
    client = await gateway(**KAVENEGAR)
    resp = await client.post("/sms/kavenegar/inbound", data={"from": "0912", "message": "x"})
    assert resp.status == 400
    body = await resp.json()
    assert (body["code"], body["fields"]) == ("missing_fields", ["to", "messageid"])
    resp = await client.get("/sms/nokia/inbound")
    assert resp.status == 404
    assert await replies(client) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("messageid", "12\x0034"), ("messageid", "1\ud800"), ("from", "98912\x001234567")],
    ids=["nul-id", "surrogate-id", "nul-sender"],
)
@pytest.mark.parametrize("kind", ["json", "form"])
async def test_an_id_no_database_stores_is_400_naming_its_field(
    gateway: GatewayFactory, field: str, value: str, kind: str
) -> None:
    client = await gateway(**KAVENEGAR)
    form = {"from": "989121234567", "to": "10004346", "message": "HELP", "messageid": "70"}
    form[field] = value
    if kind == "json":
        body = json.dumps(form)  # escapes: a lone surrogate travels as \ud800
        resp = await client.post(
            "/sms/kavenegar/inbound", data=body, headers={"Content-Type": "application/json"}
        )
    else:
        if "\ud800" in value:
            pytest.skip("a form cannot carry a lone surrogate")
        resp = await client.post("/sms/kavenegar/inbound", data=form)
    assert resp.status == 400, await resp.text()
    answer = await resp.json()
    assert (answer["code"], answer["fields"]) == ("invalid_fields", [field])
    assert await replies(client) == []


async def test_inbound_by_get_query_string(gateway: GatewayFactory) -> None:
    client = await gateway(**KAVENEGAR)
    resp = await client.get(
        "/sms/kavenegar/inbound",
        params={"from": "09121234567", "to": "10004346", "message": "؟", "messageid": "42"},
    )
    assert resp.status == 200
    assert [r["template_id"] for r in await replies(client)] == ["keyword_help"]


async def test_answers_per_number_are_limited_so_auto_responders_cannot_loop(
    gateway: GatewayFactory,
) -> None:
    client = await gateway(**KAVENEGAR)
    for i in range(15):
        await inbound(client, f"ok thanks {i}")
    assert len(await replies(client)) == 10  # then silence for the rest of the hour
    assert await replies(client, OTHER) == []
    await inbound(client, "HELP", sender="09351112233")  # another number is unaffected
    assert len(await replies(client, OTHER)) == 1


async def test_in_review_gets_the_48_hour_advice_only_after_48_hours(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway(**KAVENEGAR)
    await add_registration(client, status="in_review")
    before = len(await replies(client))
    await inbound(client, f"REG {NID}")
    clock.advance(48 * 3600 + 60)
    await inbound(client, f"پیگیری {NID}")
    early, late = (await replies(client))[before:]
    assert early["template_id"] == "registration_received"
    assert late["template_id"] == "registration_in_review"
    assert "۴۸ ساعت" in late["body"]


async def test_a_crash_after_the_answer_was_written_leaves_nothing_behind(
    gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The message's row, the reset it made, the limits it counted and its reply are one unit:
    a failure after all of them were written undoes them all, and the provider's retry is
    answered exactly once."""
    from sessions.services import inbound as service
    from sessions.services.sms_commands import answer

    client = await gateway(**KAVENEGAR)
    await add_registration(client, NID, ME, "activated")
    crashes = [RuntimeError("the process died after writing")]

    async def answer_then_die(d: Any, sender: str, text: str) -> Any:
        parsed = await answer(d, sender, text)  # the reset and its SMS are written …
        if crashes:
            raise crashes.pop()  # … and the process dies before the commit
        return parsed

    monkeypatch.setattr(service, "answer", answer_then_die)
    form = {"from": "989121234567", "to": "10004346", "message": f"RESET {NID}", "messageid": "m1"}
    failed = await client.post("/sms/kavenegar/inbound", data=form)
    assert failed.status == 500
    store = deps(client).store
    assert await sms_to(client, ME, "password_reset") == []
    assert await store.latest_reset(NID) is None
    assert not await store.inbound_seen("kavenegar", "m1")

    retried = await client.post("/sms/kavenegar/inbound", data=form)
    assert await retried.json() == {"accepted": True, "duplicate": False}
    again = await client.post("/sms/kavenegar/inbound", data=form)
    assert await again.json() == {"accepted": True, "duplicate": True}
    assert len(await sms_to(client, ME, "password_reset")) == 1
    reset = await store.latest_reset(NID)
    assert reset is not None
    assert reset.status == "active"


async def test_two_deliveries_of_one_message_at_once_are_answered_once(
    gateway: GatewayFactory,
) -> None:
    import asyncio

    client = await gateway(**KAVENEGAR)
    form = {"from": "989121234567", "to": "10004346", "message": "HELP", "messageid": "twice"}
    answers = await asyncio.gather(
        *(client.post("/sms/kavenegar/inbound", data=form) for _ in range(4))
    )
    bodies = [await a.json() for a in answers]
    assert sorted(b["duplicate"] for b in bodies) == [False, True, True, True]
    assert len(await replies(client)) == 1


async def _deliver(client: Client, msgid: str) -> tuple[int, str]:
    form = {"from": "989121234567", "to": "10004346", "message": "HELP", "messageid": msgid}
    resp = await client.post("/sms/kavenegar/inbound", data=form)
    return resp.status, await resp.text()


@sqlite_only
async def test_a_repeat_is_told_duplicate_only_once_the_first_taking_is_committed(
    gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two deliveries of one message in one group of units: the repeat's answer waits for the
    group's COMMIT, as the first delivery's does."""
    from gateway.routes import sms as routes
    from gateway.storage.sqlite.database import SqliteDatabase
    from sessions.services.inbound import handle_inbound

    client = await gateway(**KAVENEGAR)
    db = getattr(deps(client).store, "db", None)
    assert isinstance(db, SqliteDatabase)
    events: list[str] = []
    db.raw.set_trace_callback(lambda sql: events.append(sql) if sql == "COMMIT" else None)

    async def traced(*args: Any) -> bool:
        fresh = await handle_inbound(*args)
        events.append(f"fresh={fresh}")
        return fresh

    monkeypatch.setattr(routes, "handle_inbound", traced)
    try:
        await asyncio.gather(_deliver(client, "900"), _deliver(client, "900"))
    finally:
        db.raw.set_trace_callback(None)
    assert events.index("fresh=False") > events.index("COMMIT"), events


@sqlite_only
async def test_a_repeat_of_a_taking_whose_commit_failed_is_taken_as_new(
    gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The group holding the first taking fails to commit (a full disk, an I/O error): its
    delivery is refused and the repeat is no "duplicate" of nothing; the message is taken and
    answered once, by the repeat or by the provider's retry."""
    import sqlite3

    from gateway.storage.sqlite.database import SqliteDatabase

    client = await gateway(**KAVENEGAR)
    db = getattr(deps(client).store, "db", None)
    assert isinstance(db, SqliteDatabase)
    real = db._control
    failures = [sqlite3.OperationalError("disk I/O error")]

    def control(sql: str) -> None:
        if sql == "COMMIT" and failures:
            raise failures.pop()
        real(sql)

    monkeypatch.setattr(db, "_control", control)
    got = await asyncio.gather(_deliver(client, "901"), _deliver(client, "901"))
    monkeypatch.setattr(db, "_control", real)
    for status, body in got:
        assert status == 500 or body == '{"accepted": true, "duplicate": false}', got
    retried = await _deliver(client, "901")
    assert retried[0] == 200, retried
    assert len(await replies(client)) == 1
