"""Branch queues (seed 000): the portal keeps them current; an applicant whose agent bank has no
credit is shown and sent the three branches of their city with the shortest queues."""

from __future__ import annotations

from typing import Any

import pytest

from sessions.records import BranchQueue
from tests.api_helpers import Client, bearer, call, storage
from tests.conftest import GatewayFactory
from tests.phone import Phone, is_end
from tests.seed import ME, add_loan, sms_to
from tests.test_citizen_stumbles import mixed_lines
from tests.test_inbound_sms import KAVENEGAR, inbound

QUEUES = [
    {"bank": "بانک ملت", "branch": "ونک", "city": "تهران", "queue": 40},
    {"bank": "بانک ملی", "branch": "تجریش", "city": "تهران", "queue": 3,
     "bank_en": "Bank Melli", "branch_en": "Tajrish branch"},
    {"bank": "بانک سپه", "branch": "آزادی", "city": "تهران", "queue": 12},
    {"bank": "بانک تجارت", "branch": "انقلاب", "city": "تهران", "queue": 7},
    {"bank": "بانک صادرات", "branch": "مرکزی", "city": "تهران", "queue": 1},  # the loan's own
    {"bank": "بانک ملت", "branch": "زند", "city": "شیراز", "queue": 0},
]  # fmt: skip


async def _queues(client: Client, queues: list[dict[str, Any]] | None = None) -> None:
    headers = await bearer(client, "records")
    status, body = await call(
        client, "PUT", "/v1/branch-queues", headers, {"queues": queues or QUEUES}
    )
    assert status == 200, body


async def _no_credit(client: Client, city: str = "تهران") -> None:
    await add_loan(
        client, "12345678", "bank_no_credit", bank="بانک صادرات", branch="مرکزی", city=city
    )


async def test_no_credit_sends_the_three_shortest_queues_of_the_city(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    await _queues(client)
    await _no_credit(client)
    [stage] = await sms_to(client, ME, "loan_stage_changed")
    assert "بانک یا شعبه را تغییر دهید" in stage["text"]
    [sent] = await sms_to(client, ME, "loan_branch_queues")
    lines = sent["text"].split("\n")
    assert lines[0] == "شعب با کوتاه‌ترین صف در تهران:"
    assert lines[1:] == ["- بانک ملی، تجریش: ۳", "- بانک تجارت، انقلاب: ۷", "- بانک سپه، آزادی: ۱۲"]
    assert "شیراز" not in sent["text"]
    assert "صادرات" not in sent["text"]  # not the branch that has no credit


async def test_ussd_offers_the_shortest_queues_under_the_loan(gateway: GatewayFactory) -> None:
    client = await gateway()
    await _queues(client)
    await _no_credit(client)
    phone = Phone(client)
    await phone.dial()
    await phone.send("3")
    await phone.send("1")
    pages = [await phone.send("12345678")]
    while "۹۸ بیشتر" in pages[-1]:
        pages.append(await phone.send("98"))
    assert "اعتبار بانک عامل کافی نیست" in pages[0]
    assert pages[-1].split("\n")[-2] == "۱ شعب با صف کوتاه‌تر"  # after the loan's details
    listing = await phone.send("1")
    assert "کوتاه‌ترین صف‌ها در تهران:" in listing
    pages = [listing]
    while "۹۸ بیشتر" in pages[-1]:
        pages.append(await phone.send("98"))
    text = "\n".join(pages)
    assert text.index("بانک ملی، تجریش: ۳") < text.index("بانک تجارت، انقلاب: ۷")
    assert text.index("بانک تجارت، انقلاب: ۷") < text.index("بانک سپه، آزادی: ۱۲")
    assert is_end(pages[-1])


async def test_without_a_city_or_queues_the_screen_says_to_change_bank_or_branch(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    await _queues(client)
    await _no_credit(client, city="")
    assert await sms_to(client, ME, "loan_branch_queues") == []
    phone = Phone(client)
    await phone.dial()
    await phone.send("3")
    await phone.send("1")
    pages = [await phone.send("12345678")]
    while "۹۸ بیشتر" in pages[-1]:
        pages.append(await phone.send("98"))
    assert "بانک یا شعبه را تغییر" in pages[0]
    assert is_end(pages[-1])
    assert "شعب با صف" not in "".join(pages)


async def test_the_status_keyword_sends_the_queues_too_in_english_names(
    gateway: GatewayFactory,
) -> None:
    client = await gateway(**KAVENEGAR)
    await _queues(client)
    await _no_credit(client)
    await inbound(client, "STATUS 12345678")
    [sent] = [m for m in await sms_to(client, ME, "loan_branch_queues") if m["lang"] == "en"]
    assert "- Bank Melli, Tajrish branch: 3 waiting" in sent["text"]
    assert "- بانک تجارت، انقلاب: ۷" in sent["text"]  # no English names: the Persian line
    assert mixed_lines(sent["text"]) == []


async def test_queues_are_kept_current_and_listed_shortest_first(gateway: GatewayFactory) -> None:
    client = await gateway()
    await _queues(client)
    await _queues(client, [{"bank": "بانک ملت", "branch": "ونک", "city": "تهران", "queue": 0}])
    headers = await bearer(client, "records")
    status, body = await call(client, "GET", "/v1/branch-queues?city=تهران&limit=2", headers)
    assert status == 200
    assert [(q["branch"], q["queue"]) for q in body["queues"]] == [("ونک", 0), ("مرکزی", 1)]


@pytest.mark.parametrize(
    ("queues", "field"),
    [
        ([{**QUEUES[0], "queue": -1}], "queues"),
        ([{**QUEUES[0], "queue": "7"}], "queues"),
        ([{k: v for k, v in QUEUES[0].items() if k != "city"}], "queues"),
        ([QUEUES[0], QUEUES[0]], "queues"),
        ([QUEUES[1], {**QUEUES[0], "bank_en": "بانک"}], "queues"),
        ([], "queues"),
    ],
)
async def test_a_bad_batch_is_a_400_and_stores_nothing(
    gateway: GatewayFactory, queues: list[dict[str, Any]], field: str
) -> None:
    client = await gateway()
    headers = await bearer(client, "records")
    status, body = await call(client, "PUT", "/v1/branch-queues", headers, {"queues": queues})
    assert status == 400, body
    assert body["field"] == field
    assert await storage(client).find_records(BranchQueue, {}) == []
    assert (await call(client, "PUT", "/v1/branch-queues", await bearer(client, "requests"),
                       {"queues": QUEUES}))[0] == 403  # fmt: skip
