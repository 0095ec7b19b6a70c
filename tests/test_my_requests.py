"""5. "My requests" by USSD and the REQUEST / درخواست keyword: a new service request from the
phone (at most three unfinished), the caller's own complaints and requests newest first, each
with its status, last change, answer or invoice; other numbers' items are never seen."""

from __future__ import annotations

from typing import Any

import pytest

from sessions.keywords import Command, parse
from sessions.records import ServiceRequest
from sessions.services import complaints, requests
from sessions.services.requests import Change
from tests.api_helpers import Client
from tests.conftest import FakeClock, GatewayFactory
from tests.phone import Phone, is_end, screen
from tests.seed import ME, OTHER, deps, sms_to
from tests.test_citizen_stumbles import mixed_lines
from tests.test_inbound_sms import KAVENEGAR, inbound

FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


async def _pages(phone: Phone, reply: str) -> str:
    pages = [reply]
    while "۹۸ بیشتر" in pages[-1] or "98 More" in pages[-1]:
        pages.append(await phone.send("98"))
    more = ("۹۸ بیشتر", "98 More")
    return "\n".join(ln for p in pages for ln in screen(p).split("\n") if ln not in more)


async def _new_request(client: Client, msisdn: str = ME, description: str = "1") -> str:
    phone = Phone(client, msisdn)
    await phone.dial()
    await phone.send("5")
    await phone.send("1")
    await phone.send("1")  # labour-law consultation
    await phone.send(description)
    return await phone.send("1")


async def _complaint(client: Client, msisdn: str = ME) -> str:
    filed = await complaints.file(deps(client), msisdn, "other", body="شرح")
    assert filed is not None
    return filed.ticket


async def _request(client: Client, msisdn: str = ME, *path: Change) -> str:
    filed = await requests.file(deps(client), msisdn, ["payroll"], channel="ussd")
    assert filed is not None
    for change in path:
        assert await requests.move(deps(client), filed.number, change, "staff") is not None
    return filed.number


INVOICE = (Change("in_review"), Change("invoiced", amount=2_500_000, payment_ref="KB140309"))


async def test_my_requests_is_entry_five_on_a_one_page_main_menu(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway())
    menu = await phone.dial()
    assert "۵ درخواست‌های من" in menu
    assert "۹۸" not in menu
    assert "5 My requests" in await phone.send("9")


async def test_a_new_service_request_from_the_phone(gateway: GatewayFactory) -> None:
    client = await gateway()
    phone = Phone(client)
    await phone.dial()
    empty = await phone.send("5")
    assert "موردی برای شماره شما ثبت نشده است" in empty
    assert "۹۸" not in empty
    assert "۱ درخواست خدمت تازه" in empty
    assert not is_end(empty)
    assert "۱ مشاوره قانون کار" in await phone.send("1")
    assert "شرح کوتاه" in await phone.send("1")
    assert "«مشاوره قانون کار» ثبت شود؟" in await phone.send("سنوات پایان کار")
    done = await phone.send("1")
    assert is_end(done)
    [record] = await deps(client).store.find_records(ServiceRequest, {"mobile": ME})
    assert record.number.translate(FA) in done
    assert (record.client, record.channel, record.services) == (
        "",
        "ussd",
        "labour_law_consultation",
    )
    assert record.description == "سنوات پایان کار"
    [sent] = await sms_to(client, ME, "request_received")
    assert record.number.translate(FA) in sent["text"]


async def test_at_most_three_unfinished_requests_per_number(gateway: GatewayFactory) -> None:
    client = await gateway()
    for _ in range(3):
        assert "ثبت شد" in await _new_request(client)
    phone = Phone(client)
    await phone.dial()
    await phone.send("5")
    refused = await phone.send("1")
    assert is_end(refused)
    assert "۳ درخواست در جریان" in refused
    assert "ثبت شد" in await _new_request(client, OTHER)  # another number is not limited
    [first, *_] = await deps(client).store.find_records(ServiceRequest, {"mobile": ME})
    await requests.move(deps(client), first.number, Change("cancelled"), "staff")
    assert "ثبت شد" in await _new_request(client)  # a finished one frees its place


async def test_the_list_shows_only_the_callers_items_newest_first(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    ticket = await _complaint(client)
    clock.advance(60)
    number = await _request(client, ME, *INVOICE)
    clock.advance(60)
    theirs = await _request(client, OTHER)
    their_ticket = await _complaint(client, OTHER)
    phone = Phone(client)
    await phone.dial()
    listing = await _pages(phone, await phone.send("5"))
    lines = listing.split("\n")
    assert lines[0] == "۱ درخواست خدمت تازه"
    assert lines[1] == f"۲ درخواست {number.translate(FA)}"
    assert lines[2] == f"۳ اعتراض {ticket.translate(FA)}"
    assert theirs.translate(FA) not in listing
    assert their_ticket.translate(FA) not in listing
    detail = await _pages(phone, await phone.send("2"))
    assert f"درخواست {number.translate(FA)}: صورتحساب صادر شد" in detail
    assert "مبلغ: ۲٬۵۰۰٬۰۰۰ ریال" in detail
    assert "شناسه پرداخت: KB140309" in detail
    assert "آخرین تغییر: ۱ آذر ۱۴۰۴" in detail


async def test_an_answered_complaint_shows_its_answer_and_back_returns(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    ticket = await _complaint(client)
    await complaints.update(deps(client), ticket, "answered", "درخواست شما تأیید شد.", "staff")
    phone = Phone(client)
    await phone.dial()
    await phone.send("5")
    detail = await _pages(phone, await phone.send("2"))
    assert f"اعتراض {ticket.translate(FA)}: پاسخ داده شد" in detail
    assert "پاسخ: درخواست شما تأیید شد." in detail
    await phone.send("0")  # the detail's first page
    assert "۱ درخواست خدمت تازه" in await phone.send("0")
    await phone.send("9")  # no such item on the list: the list again
    # English: the Persian answer on a line of its own.
    english = Phone(client)
    assert "ادامه" in await english.dial()  # the first session was cut off mid-flow
    await english.send("2")  # no: the main menu
    await english.send("9")
    await english.send("5")
    detail = await _pages(english, await english.send("2"))
    assert f"Complaint {ticket}: answered" in detail
    assert "Answer:\nدرخواست شما تأیید شد." in detail
    assert mixed_lines(detail) == []


async def test_older_items_page_on(gateway: GatewayFactory, clock: FakeClock) -> None:
    client = await gateway()
    numbers = []
    for _ in range(9):
        numbers.append(await _request(client, ME, Change("cancelled")))
        clock.advance(60)
    phone = Phone(client)
    await phone.dial()
    first = await _pages(phone, await phone.send("5"))
    assert "۹ قدیمی‌ترها" in first
    assert numbers[-1].translate(FA) in first
    assert numbers[0].translate(FA) not in first
    older = await _pages(phone, await phone.send("9"))
    assert numbers[0].translate(FA) in older
    assert numbers[1].translate(FA) in older
    assert "قدیمی‌ترها" not in older


# --- the REQUEST / درخواست keyword ----------------------------------------------------------


def test_the_keyword_and_the_old_keywords_keep_their_meanings() -> None:
    assert parse("درخواست").command is Command.REQUESTS
    assert parse("REQUEST 123456789").argument == "123456789"
    assert parse("درخواست۱۲۳۴۵۶۷۸").argument == "12345678"
    meanings = {
        "پیگیری 0012345679": Command.REGISTRATION,
        "وضعیت 12345678": Command.LOAN,
        "رمز 0012345679": Command.RESET,
        "اعتراض متن": Command.COMPLAINT,
        "راهنما": Command.HELP,
    }
    for text, command in meanings.items():
        assert parse(text).command is command


async def _reply(client: Client, text: str, sender: str = "989121234567") -> dict[str, Any]:
    await inbound(client, text, sender)
    rows = await sms_to(client, ME if sender == "989121234567" else OTHER)
    return rows[-1]


async def test_request_without_a_number_lists_the_three_newest(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway(**KAVENEGAR)
    assert (await _reply(client, "درخواست"))["template_id"] == "reply_no_requests"
    old = await _complaint(client)
    clock.advance(60)
    ticket = await _complaint(client)
    clock.advance(60)
    number = await _request(client, ME, *INVOICE)
    clock.advance(60)
    newest = await _request(client)
    await _request(client, OTHER)
    reply = await _reply(client, "درخواست")
    assert reply["template_id"] == "reply_my_requests"
    text = reply["text"]
    assert f"- درخواست {newest.translate(FA)}: ثبت شده" in text
    assert f"- درخواست {number.translate(FA)}: صورتحساب صادر شد" in text
    assert f"- اعتراض {ticket.translate(FA)}: ثبت شده" in text
    assert old.translate(FA) not in text
    english = await _reply(client, "REQUEST")
    assert f"- Request {newest}: submitted" in english["text"]
    assert mixed_lines(english["text"]) == []


async def test_request_with_a_number_answers_for_that_item_only_to_its_owner(
    gateway: GatewayFactory,
) -> None:
    client = await gateway(**KAVENEGAR)
    ticket = await _complaint(client)
    await complaints.update(deps(client), ticket, "answered", "تأیید شد", "staff")
    number = await _request(client, ME, *INVOICE)
    reply = await _reply(client, f"REQUEST {ticket}")
    assert reply["template_id"] == "reply_complaint_status"
    assert reply["lang"] == "en"
    assert f"Complaint {ticket}: answered" in reply["text"]
    assert "Answer:\nتأیید شد" in reply["text"]
    reply = await _reply(client, f"درخواست {number.translate(FA)}")
    assert reply["template_id"] == "reply_request_invoice"
    assert "۲٬۵۰۰٬۰۰۰ ریال" in reply["text"]
    theirs = await _reply(client, f"درخواست {number}", sender="989351112233")
    missing = await _reply(client, "درخواست 987654321", sender="989351112233")
    assert theirs["template_id"] == missing["template_id"] == "reply_not_found"
    assert theirs["text"] == missing["text"]
    assert (await _reply(client, "درخواست abc"))["template_id"] == "reply_not_found"


@pytest.mark.parametrize("script", ["ascii", "persian", "arabic"])
async def test_request_numbers_in_every_digit_script(gateway: GatewayFactory, script: str) -> None:
    client = await gateway(**KAVENEGAR)
    number = await _request(client)
    table = {"ascii": "0123456789", "persian": "۰۱۲۳۴۵۶۷۸۹", "arabic": "٠١٢٣٤٥٦٧٨٩"}[script]
    typed = number.translate(str.maketrans("0123456789", table))
    reply = await _reply(client, f"درخواست {typed}")
    assert reply["template_id"] == "reply_request_status"


async def test_a_huge_or_hostile_argument_is_answered_politely(gateway: GatewayFactory) -> None:
    client = await gateway(**KAVENEGAR)
    for text in (f"درخواست {'۱' * 400}", "REQUEST 12345678 OR 1=1", "درخواست ‮123456789"):
        reply = await _reply(client, text)
        assert reply["template_id"] == "reply_not_found", text
