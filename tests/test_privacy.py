"""Everything the gateway logs during a full run through every flow, at DEBUG and through its own
formatter (text and JSON), holds no national ID, mobile number, password, code, ticket, API key or
callback secret in clear: not in application logs, not in the access log, not from a library."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.appkeys import DISPATCHER
from gateway.settings import Settings
from gateway.web.logs import AccessLogger, MaskingFormatter
from sessions.records import Complaint
from tests.api_helpers import Client, bearer, call, sms, storage
from tests.conftest import FakeClock

USSD_TOKEN = "ussd-path-secret-0123456789abcdef"
SMS_TOKEN = "sms-path-secret-fedcba9876543210"
NID, NID2, NID3 = "0013542419", "0067749828", "4608968882"
ME, OTHER, THIRD = "09121234567", "09351112233", "09191234567"
LOAN_CODE, LOAN_CODE2 = "12345678", "87654321"
OTP = "482913"
WORKSHOP = "7654321"
_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_RESET = re.compile(r"کد رهگیری ([0-9۰-۹]{8}) رمز ([A-Za-z0-9]+) تخصیص")


@pytest.fixture
def captured() -> Iterator[list[io.StringIO]]:
    """Every record of every logger, at DEBUG, through the gateway's formatter in both modes."""
    root = logging.getLogger()
    streams = [io.StringIO(), io.StringIO()]
    handlers: list[logging.Handler] = []
    for stream, as_json in zip(streams, (False, True), strict=True):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(MaskingFormatter(as_json))
        handler.setLevel(logging.DEBUG)
        handlers.append(handler)
        root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield streams
    finally:
        root.setLevel(level)
        for added in handlers:
            root.removeHandler(added)


def forms_of_mobile(msisdn: str) -> list[str]:
    rest = msisdn[1:]
    forms = [msisdn, rest, f"98{rest}", f"+98{rest}", f"0098{rest}"]
    return forms + [f.translate(_PERSIAN) for f in forms]


def forms_of_digits(value: str) -> list[str]:
    return [value, value.translate(_PERSIAN)]


def separated(value: str) -> list[str]:
    """A number as typed in groups: `001-354-2419`, `001 354 2419`."""
    groups = [value[:3], value[3:6], value[6:]]
    return ["-".join(groups), " ".join(groups)]


class Phone:
    """An Africa's Talking phone calling the tokened URL."""

    def __init__(self, client: Client, msisdn: str, session: str) -> None:
        self.client, self.msisdn, self.session = client, msisdn, session
        self.history: list[str] = []

    async def send(self, *answers: str) -> str:
        text = ""
        for answer in answers or ("",):
            if answer:
                self.history.append(answer)
            form = {
                "sessionId": self.session,
                "serviceCode": "*4455#",
                "phoneNumber": self.msisdn,
                "networkCode": "43211",
                "text": "*".join(self.history),
            }
            async with self.client.post(f"/ussd/africastalking/{USSD_TOKEN}", data=form) as resp:
                assert resp.status == 200, await resp.text()
                text = await resp.text()
        return text


async def inbound(client: Client, text: str, sender: str, msgid: str) -> None:
    form = {"from": sender, "to": "10004346", "message": text, "messageid": msgid}
    async with client.post("/sms/console/inbound", data=form, headers=sms_auth()) as resp:
        assert resp.status == 200, await resp.text()


def sms_auth() -> dict[str, str]:
    return {"X-Gateway-Token": SMS_TOKEN}


async def full_run(client: Client) -> dict[str, list[str]]:
    """Every flow once (and the failure paths that log); returns the secrets that were used."""
    records = await bearer(client, "records")
    resets = await bearer(client, "resets")
    notify = await bearer(client, "notify")
    keys = [h["Authorization"].removeprefix("Bearer ") for h in (records, resets, notify)]

    # The /v1 API: records that enqueue SMS.
    person = {"mobile": "+98" + ME[1:], "status": "activated", "first_name": "علی",
              "last_name": "رضایی", "gender": "male"}  # fmt: skip
    assert (await call(client, "PUT", f"/v1/registrations/{NID}", records, person))[0] == 201
    other = {"mobile": "98" + OTHER[1:], "status": "in_review"}
    assert (await call(client, "PUT", f"/v1/registrations/{NID2}", records, other))[0] == 201
    for code, stage in ((LOAN_CODE, "rejected"), (LOAN_CODE2, "bank_review")):
        loan = {"national_id": NID, "mobile": ME, "stage": stage, "bank": "بانک ملت",
                "branch": "ونک", "amount": 500_000_000}  # fmt: skip
        assert (await call(client, "PUT", f"/v1/loans/{code}", records, loan))[0] == 201
    assert (await call(client, "GET", f"/v1/registrations/{NID}", records))[0] == 200
    assert (await call(client, "GET", f"/v1/registrations/{NID3}", records))[0] == 404
    for typed in separated(NID):  # accepted with separators, as people type them
        assert (await call(client, "GET", f"/v1/registrations/{typed}", records))[0] == 200

    # USSD: registration tracking, password reset, loan status (both ways), a complaint.
    await Phone(client, "+98" + ME[1:], "s1").send("", "1", NID.translate(_PERSIAN))
    await Phone(client, ME, "s2").send("", "2", NID)
    await Phone(client, OTHER, "s3").send("", "2", NID3)  # no match: the same screen, no SMS
    await Phone(client, ME, "s4").send("", "3", "1", LOAN_CODE, "1", WORKSHOP, "بدون دلیل", "1")
    await Phone(client, ME, "s5").send("", "3", "2", "1")
    await Phone(client, THIRD, "s6").send("", "4", "1", WORKSHOP, "حقوق پرداخت نشد", "1")
    async with client.post(
        "/ussd/json",
        json={"session_id": "j1", "msisdn": ME, "text": "", "event": "new", "hop": 0},
    ) as resp:
        assert resp.status == 200

    # Inbound SMS keywords (and a repeat, and a sender that is not a mobile).
    for n, text in enumerate(
        [f"وضعیت {LOAN_CODE}", f"reg {NID}", f"رمز {NID}", "اعتراض پرداخت انجام نشد", "؟"]
    ):
        await inbound(client, text, "98" + ME[1:], f"in-{n}")
    await inbound(client, f"status {LOAN_CODE}", "98" + ME[1:], "in-0")
    form = {"from": "10004346", "to": "10004346", "message": "help", "messageid": "in-x"}
    async with client.post("/sms/console/inbound", data=form, headers=sms_auth()) as resp:
        assert resp.status == 400  # the console provider takes mobiles only

    # Verification, right and wrong.
    bodies = [m["text"] for m in await sms(client, ME)]
    found = [_RESET.search(b) for b in bodies]
    pairs = [(m.group(1).translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")), m.group(2))
             for m in found if m]  # fmt: skip
    assert len(pairs) == 2  # by USSD and by SMS
    password = pairs[-1][1]
    for attempt in (password, "Wrong1234", password.swapcase()):
        body = {"national_id": NID, "password": attempt}
        assert (await call(client, "POST", "/v1/password-resets/verify", resets, body))[0] == 200

    # Notifications, with a one-time code.
    note = {"recipients": [ME, "+98" + OTHER[1:]], "template": "activation_code",
            "params": {"code": OTP}}  # fmt: skip
    status, batch = await call(client, "POST", "/v1/notifications", notify, note)
    assert status == 202
    first = batch["notifications"][0]["id"]
    assert (await call(client, "GET", f"/v1/notifications/{first}", notify))[0] == 200

    # A verification code the gateway makes, bound to a national ID; checked wrong, then right.
    verify = await bearer(client, "verify")
    keys.append(verify["Authorization"].removeprefix("Bearer "))
    asked = {"mobile": "+98" + OTHER[1:], "purpose": "delete_unit", "national_id": NID2}
    status, started = await call(client, "POST", "/v1/verifications", verify, asked)
    assert status == 201
    verification_codes = [m["code"] for m in await sms(client, OTHER) if m.get("code")]
    assert len(verification_codes) == 1
    for attempt in ("Wrong", verification_codes[0]):
        path = f"/v1/verifications/{started['id']}/check"
        body = {"code": attempt, "national_id": NID2}
        assert (await call(client, "POST", path, verify, body))[0] == 200

    # Failures that log: an oversize body, a wrong callback token, a wrong API key.
    big = {"phoneNumber": ME, "text": "1*" * 9000}
    async with client.post(f"/ussd/africastalking/{USSD_TOKEN}", data=big) as resp:
        assert resp.status == 413
    async with client.post(f"/ussd/africastalking/{USSD_TOKEN[::-1]}", data={}) as resp:
        assert resp.status == 401
    bad = {"Authorization": f"Bearer {keys[0][:-4]}abcd"}
    assert (await call(client, "GET", f"/v1/registrations/{NID}", bad))[0] == 401

    # The dispatcher sends everything through the console provider; reports come back.
    dispatcher = client.app[DISPATCHER]
    while await dispatcher.run_once():
        pass
    sent = await storage(client).outbox_messages()
    provider_ids = [m["provider_message_id"] for m in sent if m.get("provider_message_id")]
    assert provider_ids
    for mid in provider_ids[:3]:
        report = {"messageid": mid, "status": "delivered"}
        async with client.post(f"/sms/console/status/{SMS_TOKEN}", data=report) as resp:
            assert resp.status == 200
    await dispatcher.poll_once()

    complaints = await storage(client).find_records(Complaint, {}, limit=50)
    tickets = [c.ticket for c in complaints]
    assert len(tickets) >= 3
    return {
        "national IDs": [f for n in (NID, NID2, NID3) for f in forms_of_digits(n) + separated(n)],
        "mobiles": [f for m in (ME, OTHER, THIRD) for f in forms_of_mobile(m)],
        "passwords": [p for _, p in pairs] + [password.swapcase()],
        "codes": [f for c, _ in pairs for f in forms_of_digits(c)]
        + [f for c in (LOAN_CODE, LOAN_CODE2, OTP, WORKSHOP) for f in forms_of_digits(c)]
        + [f for c in verification_codes for f in forms_of_digits(c)],
        "tickets": [f for t in tickets for f in forms_of_digits(t)],
        "API keys": keys + [k.split("_", 2)[2] for k in keys],
        "callback secrets": [USSD_TOKEN, SMS_TOKEN],
    }


async def test_no_personal_data_or_secret_in_any_log(
    aiohttp_client: Any, settings: Settings, clock: FakeClock, captured: list[io.StringIO]
) -> None:
    cfg = Settings.model_validate(
        {
            **settings.model_dump(),
            "ussd_secrets": {"africastalking": USSD_TOKEN},
            "sms_callback_secret": {"console": SMS_TOKEN},
        }
    )
    server = TestServer(create_app(cfg, clock=clock))
    await server.start_server(access_log_class=AccessLogger)
    client = await aiohttp_client(server)
    secrets = await full_run(client)
    await client.close()

    text, as_json = (stream.getvalue() for stream in captured)
    # The run was seen: requests, SMS sent, reports, inbound messages.
    for expected in (
        "POST /ussd/africastalking/*** 200",
        "POST /sms/{provider}/status/*** 200",  # the route, not the path as sent
        "GET /v1/registrations/{national_id} 200",
        "PUT /v1/",
        "console sms",
        "delivery report",
        "inbound from",
    ):
        assert expected in text, expected
    lines = [json.loads(line) for line in as_json.splitlines()]
    assert all(datetime.fromisoformat(line["ts"]).tzinfo == UTC for line in lines)
    # The access log's fields: the route's pattern, the status, sub-millisecond times, an id.
    access = [line for line in lines if line["logger"] == "aiohttp.access"]
    assert access
    for line in access:
        assert {"method", "route", "status", "duration_ms", "request_id"} <= set(line), line
        assert isinstance(line["status"], int)
        assert isinstance(line["duration_ms"], float)
        assert line["duration_ms"] == round(line["duration_ms"], 3)
        assert line["request_id"]
    assert len({line["request_id"] for line in access}) == len(access)
    assert sum(1 for line in access if line["duration_ms"] % 1 > 0) > len(access) / 2
    # Every line of the dispatcher about a message names it by its notification id.
    sends = [line for line in lines if line["logger"] == "dargah.dispatcher"]
    assert sends
    assert all(len(line["notification_id"]) == 18 for line in sends if "sms" in line["msg"])
    leaks = [
        f"{kind}: {value!r}"
        for kind, values in secrets.items()
        for value in values
        for log in (text, as_json)
        if value in log
    ]
    assert leaks == [], "\n".join(leaks)
