"""Sample records for `serve --demo`: one number per case, so a newcomer can walk every flow.

Everything goes through the core services, so the demo SMS land in the outbox like any other.
Loading twice changes nothing: an unchanged record is a no-op, and the complaint is filed once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from aiohttp import web

from gateway.api.registry import KEY_SCOPES
from gateway.appkeys import CLOCK, DEPS, SETTINGS, STORAGE
from gateway.web.auth import new_api_key
from sessions.records import BranchQueue, Complaint, Loan, Registration, branch_key
from sessions.services import complaints, loans, registration
from sessions.services.deps import Deps

SOURCE = "demo"
OVERDUE_HOURS = 50  # past the seed's 48 hours, so the "register again" advice shows


@dataclass(frozen=True, slots=True)
class Case:
    """One line of the banner: dial from `mobile`, choose `menu`, expect `what`."""

    mobile: str
    national_id: str
    menu: str
    what: str


REGISTRATIONS = (
    Registration("0012345679", "09121234567", "activated", "علی", "رضایی", "male"),
    Registration("0023456787", "09351234567", "approved_visit_branch", "زهرا", "احمدی", "female"),
    Registration("0034567895", "09191234567", "identity_mismatch", "رضا", "کریمی", "male"),
    Registration("0045678911", "09221234567", "in_review", "مریم", "حسینی", "female"),
)
OVERDUE = "0045678911"

LOANS = (
    Loan("40010005", "0012345679", "09121234567", "approved", "بانک ملی", "مرکزی", 300_000_000),
    Loan("40010001", "0056789122", "09371234567", "bank_review", "بانک ملت", "ونک", 500_000_000),
    Loan(
        "40010002",
        "0056789122",
        "09371234567",
        "bank_no_credit",
        "بانک تجارت",
        "انقلاب",
        400_000_000,
        city="تهران",
    ),
    Loan("40010003", "0056789122", "09371234567", "paid", "بانک صادرات", "تجریش", 200_000_000),
    Loan("40010004", "0067891233", "09011234567", "rejected", "بانک سپه", "آزادی", 350_000_000),
)
OBJECTION = LOANS[-1]

# Tehran's branches and their queues: the no-credit loan (40010002) is offered the shortest three.
QUEUES = (
    BranchQueue(
        branch_key("بانک ملت", "ونک"), "بانک ملت", "ونک", "تهران", 18, "Bank Mellat", "Vanak"
    ),
    BranchQueue(branch_key("بانک ملی", "مرکزی"), "بانک ملی", "مرکزی", "تهران", 4),
    BranchQueue(branch_key("بانک سپه", "آزادی"), "بانک سپه", "آزادی", "تهران", 9),
    BranchQueue(branch_key("بانک صادرات", "تجریش"), "بانک صادرات", "تجریش", "تهران", 31),
)

CASES = (
    Case("09121234567", "0012345679", "1", "registration: activated"),
    Case("09121234567", "0012345679", "2", "password reset: password and code by SMS"),
    Case("09121234567", "0012345679", "3", "loan 40010005: approved"),
    Case("09351234567", "0023456787", "1", "registration: approved, visit a branch"),
    Case("09191234567", "0034567895", "1", "registration: identity mismatch"),
    Case("09221234567", "0045678911", "1", "registration: in review 50 h, register again"),
    Case("09371234567", "0056789122", "3", "loans: bank review, no credit (40010002), paid"),
    Case("09011234567", "0067891233", "3", "loan 40010004: rejected, file an objection"),
)


DEMO_ANSWER = "درخواست شما بررسی شد و نتیجه پیامک می‌شود."


async def _answer_left_open(deps: Deps) -> None:
    """Complaints an earlier walk of the demo filed from its numbers are answered, as staff
    would: each `serve --demo` starts with the complaint path open (three unanswered ones would
    refuse a fourth), and the answer shows under "my requests"."""
    for mobile in sorted({case.mobile for case in CASES}):
        for filed in await deps.store.find_records(Complaint, {"msisdn": mobile}, limit=200):
            if filed.status not in complaints.DONE and filed.channel != SOURCE:
                await complaints.update(deps, filed.ticket, "answered", DEMO_ANSWER, SOURCE)


async def _ensure_objection(deps: Deps) -> str:
    """The ticket of the demo objection, filed on the first load only."""
    for filed in await deps.store.find_records(Complaint, {"msisdn": OBJECTION.mobile}):
        if filed.loan_code == OBJECTION.tracking_code and filed.channel == SOURCE:
            return filed.ticket
    complaint = await complaints.file(
        deps,
        OBJECTION.mobile,
        "loan_rejected",
        loan_code=OBJECTION.tracking_code,
        body="درخواست تسهیلات من بدون دلیل رد شد.",
        channel=SOURCE,
    )
    return complaint.ticket if complaint is not None else "-"


async def load_demo(deps: Deps) -> list[str]:
    """Loads the sample records (idempotently) and returns the lines that say what to dial."""
    now = deps.clock()
    for sample in REGISTRATIONS:
        record = replace(sample)  # a copy: the services stamp the record they are given
        if record.national_id == OVERDUE:
            record.created_at = now - OVERDUE_HOURS * 3600
        await registration.put(deps, record, SOURCE)
    await loans.put_queues(deps, [replace(queue) for queue in QUEUES])
    for loan in LOANS:
        await loans.put(deps, replace(loan), SOURCE)
    await _answer_left_open(deps)
    ticket = await _ensure_objection(deps)
    cases = [
        *CASES,
        Case(
            OBJECTION.mobile,
            OBJECTION.national_id,
            "4",
            f"file a complaint; staff API: PATCH /v1/complaints/{ticket}",
        ),
    ]
    lines = [f"{'number':<12} {'national ID':<11} menu  what you will see"]
    lines += [f"{c.mobile:<12} {c.national_id:<11} {c.menu:<4}  {c.what}" for c in cases]
    return lines


def banner(lines: list[str], api_key: str, base_url: str, ussd_code: str) -> str:
    return "\n".join(
        [
            "",
            "Demo records are loaded. Open the web phone, with each number's SMS inbox:",
            f"  {base_url}/simulator",
            "or dial from one of these numbers in a terminal with",
            f"  python run.py dial --msisdn <number>   (USSD code {ussd_code})",
            "",
            *(f"  {line}" for line in lines),
            "",
            "An API key with every scope (shown once, store it now):",
            f"  {api_key}",
            f'  curl -H "Authorization: Bearer {api_key}" {base_url}/v1/complaints',
            f"The operator's console, signed in with that key: {base_url}/ops",
            "",
        ]
    )


def setup(app: web.Application, out: Callable[[str], None] | None = None) -> None:
    """On start-up: load the demo records, make a fresh all-scope key, print how to try them."""

    async def announce(app: web.Application) -> None:
        lines = await load_demo(app[DEPS])
        key, record = new_api_key("demo", KEY_SCOPES, app[CLOCK]())
        await app[STORAGE].add_api_key(record)
        settings = app[SETTINGS]
        text = banner(lines, key, f"http://{settings.host}:{settings.port}", settings.ussd_code)
        if out is not None:
            out(text)
        else:
            print(text, flush=True)

    app.on_startup.append(announce)
