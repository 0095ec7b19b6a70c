"""Loan-status lookup (seed 000): by tracking code or the caller's own applications."""

from __future__ import annotations

from datetime import UTC, datetime

from sessions.normalize import to_persian_digits
from sessions.ports import Notify
from sessions.records import BranchQueue, Loan, OutboundSms, branch_key
from sessions.services.deps import Deps, Found, make_sms
from sessions.services.registration import probing_limits


async def by_code(deps: Deps, tracking_code: str, msisdn: str) -> Found[Loan]:
    """The caller's own application by its code (Found(None) for anyone else's)."""
    if await deps.store.hit_limits(probing_limits(deps, msisdn), deps.clock()) is not None:
        return Found(limited=True)
    loan = await deps.store.get_record(Loan, tracking_code)
    return Found(loan if loan is not None and loan.mobile == msisdn else None)


async def of_caller(deps: Deps, msisdn: str) -> list[Loan]:
    return await deps.store.find_records(
        Loan,
        {"mobile": msisdn},
        order="updated_at",
        newest_first=True,
        limit=deps.policy.loans_listed,
    )


def changed_at(loan: Loan) -> datetime:
    return datetime.fromtimestamp(loan.updated_at, tz=UTC)


def place(loan: Loan, lang: str) -> tuple[str, str]:
    """Bank and branch as a reader of `lang` sees them: the English names in English where the
    record has them, else the Persian ones (on lines of their own in English text)."""
    if lang == "en":
        return loan.bank_en or loan.bank or "-", loan.branch_en or loan.branch or "-"
    return loan.bank or "-", loan.branch or "-"


def stage_params(loan: Loan, lang: str = "fa") -> dict[str, object]:
    bank, branch = place(loan, lang)
    return {
        "tracking_code": loan.tracking_code,
        "stage": loan.stage,
        "bank": bank,
        "branch": branch,
        "date": changed_at(loan),
    }


SUGGESTED = 3  # branches named when the agent bank has no credit


async def shortest_queues(deps: Deps, loan: Loan) -> list[BranchQueue]:
    """The branches of the applicant's city with the fewest applications waiting, other than
    the loan's own (which has no credit): where the seed sends an applicant to go instead."""
    if loan.stage != "bank_no_credit" or not loan.city:
        return []
    found = await deps.store.find_records(
        BranchQueue, {"city": loan.city}, order="queue", limit=SUGGESTED + 1
    )
    own = branch_key(loan.bank, loan.branch)
    return [q for q in found if q.key != own][:SUGGESTED]


def queue_line(queue: BranchQueue, lang: str) -> str:
    """«بانک ملت، ونک: ۱۲» in Persian; in English the English names where both are known, else
    the Persian line as it is (never an English sentence around Persian names)."""
    if lang == "en" and queue.bank_en and queue.branch_en:
        return f"{queue.bank_en}, {queue.branch_en}: {queue.queue} waiting"
    return to_persian_digits(f"{queue.bank}، {queue.branch}: {queue.queue}")


def suggestions_sms(
    deps: Deps, loan: Loan, queues: list[BranchQueue], lang: str, source: str
) -> list[OutboundSms]:
    if not queues:
        return []
    params: dict[str, object] = {"city": loan.city}
    for name, queue in zip(("first", "second", "third"), queues, strict=False):
        params[name] = queue_line(queue, lang)
    return [make_sms(deps, loan.mobile, "loan_branch_queues", params, lang=lang, source=source)]


def notifier(deps: Deps, source: str, queues: list[BranchQueue] | None = None) -> Notify[Loan]:
    def notify(old: Loan | None, new: Loan) -> list[OutboundSms]:
        if old is not None and old.stage == new.stage:
            return []
        sms = [make_sms(deps, new.mobile, "loan_stage_changed", stage_params(new), source=source)]
        return sms + suggestions_sms(deps, new, queues or [], "fa", source)

    return notify


async def put(deps: Deps, record: Loan, source: str) -> tuple[Loan, bool]:
    now = deps.clock()
    record.created_at = record.created_at or now
    record.updated_at = now
    # Read before the write: the SMS is rendered inside the storage's transaction.
    queues = await shortest_queues(deps, record)
    return await deps.store.put_record(record, notifier(deps, source, queues))


async def put_queues(deps: Deps, queues: list[BranchQueue]) -> list[BranchQueue]:
    """Stores the portal's queue lengths, all or none."""
    now = deps.clock()
    stored = []
    async with deps.store.unit_of_work():
        for queue in queues:
            queue.created_at = queue.created_at or now
            queue.updated_at = now
            record, _ = await deps.store.put_record(queue, _owes_nothing)
            stored.append(record)
    return stored


def _owes_nothing(old: BranchQueue | None, new: BranchQueue) -> list[OutboundSms]:
    return []
