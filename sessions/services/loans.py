"""Loan-status lookup (seed 000): by tracking code or the caller's own applications."""

from __future__ import annotations

from datetime import UTC, datetime

from sessions.ports import Notify
from sessions.records import Loan, OutboundSms
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


def notifier(deps: Deps, source: str) -> Notify[Loan]:
    def notify(old: Loan | None, new: Loan) -> list[OutboundSms]:
        if old is not None and old.stage == new.stage:
            return []
        return [make_sms(deps, new.mobile, "loan_stage_changed", stage_params(new), source=source)]

    return notify


async def put(deps: Deps, record: Loan, source: str) -> tuple[Loan, bool]:
    now = deps.clock()
    record.created_at = record.created_at or now
    record.updated_at = now
    return await deps.store.put_record(record, notifier(deps, source))
