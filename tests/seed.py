"""Records for flow tests, written through the same core services the API uses."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from gateway.appkeys import DEPS
from sessions.records import Loan, Registration
from sessions.services import loans, registration
from sessions.services.deps import Deps
from tests.api_helpers import opened

ME = "09121234567"
ME_INTL = "+989121234567"
OTHER = "09351112233"
NID = "0013542419"
NID2 = "0067749828"
NID3 = "4608968882"


def deps(client: TestClient[Any, Any]) -> Deps:
    found: Deps = client.app[DEPS]
    return found


async def add_registration(
    client: TestClient[Any, Any],
    nid: str = NID,
    mobile: str = ME,
    status: str = "activated",
    **extra: Any,
) -> Registration:
    record, _ = await registration.put(
        deps(client), Registration(nid, mobile, status, **extra), "test"
    )
    return record


async def add_loan(
    client: TestClient[Any, Any], code: str, stage: str, mobile: str = ME, **extra: Any
) -> Loan:
    values: dict[str, Any] = {"bank": "بانک ملت", "branch": "مرکزی", "amount": 500_000_000, **extra}
    record, _ = await loans.put(deps(client), Loan(code, NID, mobile, stage, **values), "test")
    return record


async def sms_to(
    client: TestClient[Any, Any], msisdn: str, template_id: str | None = None
) -> list[dict[str, Any]]:
    rows = opened(deps(client), await deps(client).store.outbox_messages(msisdn))
    return [r for r in rows if template_id is None or r["template_id"] == template_id]
