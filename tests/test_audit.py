"""The audit trail: every change made through `/v1` and by the key commands, written with the
change, masked, read through the `audit` scope and `run.py audit`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.appkeys import STORAGE
from gateway.storage.audit import Actor, acting_as, append_audit
from sessions.records import Registration
from sessions.services import complaints
from tests.api_helpers import Client, bearer, call, deps, sms
from tests.conftest import FakeClock, GatewayFactory
from tests.test_api_keys_cli import cli, create_key

NID = "0012345679"
MOBILE = "09121234567"
OTHER_MOBILE = "09351112233"
SCOPES = ("records", "complaints", "resets", "notify", "requests", "verify", "audit")


async def _trail(client: Client, auth: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    status, page = await call(client, "GET", f"/v1/audit{query}", auth)
    assert status == 200, page
    items: list[dict[str, Any]] = page["items"]
    return items


async def _walk(client: Client, auth: dict[str, str], clock: FakeClock) -> None:
    """One change through every write route."""
    person = {"mobile": MOBILE, "status": "activated", "first_name": "علی", "last_name": "رضایی"}
    assert (await call(client, "PUT", f"/v1/registrations/{NID}", auth, person))[0] == 201
    moved = {**person, "mobile": OTHER_MOBILE}
    assert (await call(client, "PUT", f"/v1/registrations/{NID}", auth, moved))[0] == 200
    loan = {"national_id": NID, "mobile": MOBILE, "stage": "bank_review", "bank": "بانک ملت",
            "branch": "ونک", "amount": 500_000_000}  # fmt: skip
    assert (await call(client, "PUT", "/v1/loans/12345678", auth, loan))[0] in (200, 201)
    queues = {"queues": [{"bank": "بانک ملت", "branch": "ونک", "city": "تهران", "queue": 4}]}
    assert (await call(client, "PUT", "/v1/branch-queues", auth, queues))[0] == 200
    filed = await complaints.file(deps(client), MOBILE, "other")  # by a citizen: no entry
    assert filed is not None
    patch = {"status": "in_review"}
    status, _ = await call(client, "PATCH", f"/v1/complaints/{filed.ticket}", auth, patch)
    assert status == 200
    request = {"national_id": NID, "mobile": MOBILE, "services": ["payslip"],
               "description": "فیش حقوقی"}  # fmt: skip
    status, made = await call(client, "POST", "/v1/service-requests", auth, request)
    assert status == 201, made
    path = f"/v1/service-requests/{made['number']}"
    assert (await call(client, "PATCH", path, auth, {"status": "in_review"}))[0] == 200
    body = {"national_id": NID, "password": "Wrong12345"}
    assert (await call(client, "POST", "/v1/password-resets/verify", auth, body))[0] == 200
    status, started = await call(
        client, "POST", "/v1/verifications", auth, {"mobile": MOBILE, "purpose": "activation"}
    )
    assert status == 201, started
    code = [m for m in await sms(client) if m["template_id"].startswith("verify_")][-1]["code"]
    check = f"/v1/verifications/{started['id']}/check"
    assert (await call(client, "POST", check, auth, {"code": code}))[1]["valid"] is True
    notice = {"recipient": MOBILE, "template": "activation_code", "params": {"code": "4829"},
              "send_at": "2025-12-01T10:00:00Z"}  # fmt: skip
    status, batch = await call(client, "POST", "/v1/notifications", auth, notice)
    assert status == 202, batch
    sent = batch["notifications"][0]["id"]
    assert (await call(client, "DELETE", f"/v1/notifications/{sent}", auth))[0] == 200
    clock.advance(1)


async def test_every_write_route_leaves_one_masked_entry(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    auth = await bearer(client, *SCOPES, name="portal")
    await _walk(client, auth, clock)
    trail = await _trail(client, auth, "?limit=200")
    actions = [e["action"] for e in reversed(trail)]
    assert actions == [
        "registrations.created", "registrations.changed", "loans.created",
        "branch_queues.created", "complaints.changed", "service_requests.created",
        "service_requests.changed", "password_resets.verified", "verifications.created",
        "verifications.approved", "notifications.created", "notifications.cancelled",
    ]  # fmt: skip
    key_id = auth["Authorization"].split("_")[1]
    assert {(e["client"], e["key_id"]) for e in trail} == {("portal", key_id)}
    changed = next(e for e in trail if e["action"] == "registrations.changed")
    assert changed["target"] == "00***"
    assert changed["before"]["mobile"] == "0912***4567"
    assert changed["after"]["mobile"] == "0935***2233"
    assert changed["after"]["first_name"] == "علی"
    verified = next(e for e in trail if e["action"] == "password_resets.verified")
    assert verified["after"] == {"valid": False}
    created = next(e for e in trail if e["action"] == "verifications.created")
    assert created["after"]["code_hash"] == "***"
    text = json.dumps(trail, ensure_ascii=False)
    for secret in (NID, MOBILE, OTHER_MOBILE, "Wrong12345", "4829", "12345678"):
        assert secret not in text


async def test_filters_and_the_scope(gateway: GatewayFactory, clock: FakeClock) -> None:
    client = await gateway()
    auth = await bearer(client, *SCOPES, name="portal")
    other = await bearer(client, "records", name="staff")
    await _walk(client, auth, clock)
    person = {"mobile": MOBILE, "status": "in_review"}
    assert (await call(client, "PUT", "/v1/registrations/0013542419", other, person))[0] == 201

    status, answer = await call(client, "GET", "/v1/audit", other)
    assert (status, answer["code"]) == (403, "forbidden")  # records alone cannot read it
    staff = await _trail(client, auth, "?client=staff")
    assert [e["action"] for e in staff] == ["registrations.created"]
    regs = await _trail(client, auth, "?action=registrations.")
    assert len(regs) == 3
    assert len(await _trail(client, auth, "?action=registrations.changed")) == 1
    # The fake clock starts on 1404/09/01: everything is that day, nothing the day after.
    assert len(await _trail(client, auth, "?from=1404/09/01&to=1404/09/01")) == 13
    assert await _trail(client, auth, "?from=1404/09/02") == []
    pages, query = [], "?limit=5"
    while True:
        status, page = await call(client, "GET", f"/v1/audit{query}", auth)
        pages += page["items"]
        if page["next_cursor"] is None:
            break
        query = f"?limit=5&cursor={page['next_cursor']}"
    assert len(pages) == 13
    assert len({e["id"] for e in pages}) == 13
    status, answer = await call(client, "GET", "/v1/audit?action=DROP TABLE", auth)
    assert (status, answer["field"]) == (400, "action")


async def test_a_change_rolled_back_leaves_no_entry(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, *SCOPES, name="portal")
    request = {"national_id": NID, "mobile": MOBILE, "services": ["payslip"]}
    status, made = await call(client, "POST", "/v1/service-requests", auth, request)
    assert status == 201, made
    path = f"/v1/service-requests/{made['number']}"
    assert (await call(client, "PATCH", path, auth, {"status": "paid"}))[0] == 409
    assert [e["action"] for e in await _trail(client, auth)] == ["service_requests.created"]

    # An entry appended inside a transaction that fails goes with it.
    store = client.app[STORAGE]

    class Boom(Exception):
        pass

    try:
        with acting_as(Actor("k", "portal")):
            async with store.db.transaction() as tx:
                await append_audit(tx, "registrations.changed", NID, None, {"mobile": MOBILE})
                raise Boom
    except Boom:
        pass
    assert len(await _trail(client, auth)) == 1


async def test_with_no_one_acting_nothing_is_written(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "audit")
    filed = await complaints.file(deps(client), MOBILE, "other")  # a citizen, on USSD
    assert filed is not None
    from sessions.services import registration

    await registration.put(deps(client), Registration(NID, MOBILE, "activated"), "test")
    assert await _trail(client, auth) == []


async def test_key_commands_are_audited_and_run_py_audit_reads_the_trail(tmp_path: Path) -> None:
    made = await create_key(tmp_path, "portal", "--scopes", "records,audit")
    assert made.returncode == 0, made.stderr
    key_id = made.stdout.strip().split("_")[1]
    revoked = await cli(tmp_path, "revoke-api-key", key_id)
    assert revoked.returncode == 0, revoked.stderr
    done = await cli(tmp_path, "audit", "--action", "api_keys.")
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["action"] for e in entries] == ["api_keys.revoked", "api_keys.created"]
    assert {e["client"] for e in entries} == {"operator"}
    assert entries[1]["after"] == {
        "key_id": key_id,
        "name": "portal",
        "scopes": ["audit", "records"],
    }
    assert made.stdout.strip() not in done.stdout
    only = await cli(tmp_path, "audit", "--action", "api_keys.revoked", "--limit", "1")
    assert len(only.stdout.splitlines()) == 1
    bad = await cli(tmp_path, "audit", "--from", "yesterday")
    assert bad.returncode == 2
    assert "--from" in bad.stderr
