"""What a citizen stumbled on in a walk through the demo, each through the real interfaces: an
answered complaint that still blocked the next, error lines that pushed the choices off the first
page, an objection option above its loan's details, Persian names inside English sentences, a
language forgotten between sessions, and "my applications" with no way back."""

from __future__ import annotations

import re

from gateway.cli.demo import OBJECTION, load_demo
from sessions.records import Complaint
from sessions.services import complaints
from tests.api_helpers import bearer, call
from tests.conftest import GatewayFactory
from tests.phone import Phone, is_end, screen
from tests.seed import ME, OTHER, add_loan, deps, sms_to
from tests.test_inbound_sms import KAVENEGAR, inbound

_LATIN = re.compile(r"[A-Za-z]")
_PERSIAN = re.compile(r"[\u0600-\u06ff]")


def mixed_lines(text: str) -> list[str]:
    """Lines with both Latin and Persian letters: one language inside the other's sentence."""
    return [ln for ln in text.split("\n") if _LATIN.search(ln) and _PERSIAN.search(ln)]


async def _file(client: object, msisdn: str = ME) -> str:
    phone = Phone(client, msisdn)  # type: ignore[arg-type]
    await phone.dial()
    await phone.send("4")
    await phone.send("4")
    await phone.send("1")
    await phone.send("1")
    return await phone.send("1")


# --- 1. an answered complaint no longer counts towards the limit of three ---------------------


async def test_an_answered_complaint_frees_a_place(gateway: GatewayFactory) -> None:
    client = await gateway()
    for _ in range(3):
        assert "ثبت شد" in await _file(client)
    assert "بی‌پاسخ" in await _file(client)  # the fourth is refused
    [first, *_] = await deps(client).store.find_records(Complaint, {"msisdn": ME})
    headers = await bearer(client, "complaints")
    status, body = await call(
        client, "PATCH", f"/v1/complaints/{first.ticket}", headers,
        {"status": "answered", "answer": "بررسی شد."},
    )  # fmt: skip
    assert status == 200
    assert body["status"] == "answered"
    assert "ثبت شد" in await _file(client)
    assert await complaints.count_open(deps(client), ME) == 3


async def test_the_demo_leaves_its_complaint_path_open_on_every_load(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    await load_demo(deps(client))
    for _ in range(2):  # a walk through the demo: with the seeded objection, three unanswered
        assert "ثبت شد" in await _file(client, OBJECTION.mobile)
    assert "بی‌پاسخ" in await _file(client, OBJECTION.mobile)
    await load_demo(deps(client))  # the next `make run`
    assert "ثبت شد" in await _file(client, OBJECTION.mobile)
    answered = await deps(client).store.find_records(
        Complaint, {"msisdn": OBJECTION.mobile, "status": "answered"}
    )
    assert len(answered) == 2
    assert await sms_to(client, OBJECTION.mobile, "complaint_status_changed")


# --- 2. an error leaves the choices on the first page -----------------------------------------


async def test_a_wrong_main_menu_choice_keeps_every_choice_on_one_page(
    gateway: GatewayFactory,
) -> None:
    phone = Phone(await gateway())
    menu = await phone.dial()
    again = await phone.send("7")
    assert "۹۸" not in again
    assert again == menu  # Persian: no room for an error line, the menu itself answers
    await phone.send("9")  # English
    reply = await phone.send("7")
    assert reply.startswith("CON Invalid choice.\n1 ")
    assert "98" not in reply
    assert "9 Farsi" in reply


async def test_a_wrong_answer_to_the_resume_offer_keeps_both_choices(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    phone = Phone(client)
    await phone.dial()
    await phone.send("4")  # the complaint subjects: mid-flow
    offer = await phone.dial()  # cut off, dialled again
    assert "ادامه" in offer
    reply = await phone.send("3")
    assert "گزینه نامعتبر است" in reply
    assert "۱ بله، ادامه" in reply
    assert "۲ خیر، منوی اصلی" in reply
    assert "۹۸" not in reply
    assert "۱ رد تسهیلات" in await phone.send("1")  # and it still resumes


async def test_a_malformed_workshop_code_keeps_the_none_choice(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway())
    await phone.dial()
    await phone.send("4")
    await phone.send("2")
    reply = await phone.send("12ab")
    assert "کد کارگاه باید ۴ تا ۱۲ رقم باشد" in reply
    assert "۱ کد کارگاه ندارم" in reply
    assert "۹۸" not in reply
    assert "شرح" in await phone.send("1")  # "none" still answers from the error screen


# --- 3. a rejected loan: its details, then the option ------------------------------------------


async def test_a_rejected_loan_shows_its_details_before_the_objection_option(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    await add_loan(client, "12345678", "rejected")
    phone = Phone(client)
    await phone.dial()
    await phone.send("3")
    await phone.send("1")
    reply = await phone.send("12345678")
    lines = screen(reply).split("\n")
    assert lines[0] == "۱۲۳۴۵۶۷۸: رد شده"
    assert lines[1] == "بانک ملت، مرکزی"
    assert lines[2] == "۱ آذر ۱۴۰۴"
    assert lines[3] == "۱ ثبت اعتراض"
    assert "۹۸" not in reply
    assert "کد کارگاه" in await phone.send("1")  # the objection, its loan filled in


# --- 4. English: no Persian name inside an English sentence; the language is remembered -------


async def _english_loan(phone: Phone, code: str) -> str:
    """Every page of the loan's English screen, as one text."""
    await phone.dial()
    await phone.send("9")
    await phone.send("3")
    await phone.send("1")
    pages = [await phone.send(code)]
    while "98 More" in pages[-1]:
        pages.append(await phone.send("98"))
    return "\n".join(ln for p in pages for ln in screen(p).split("\n") if ln != "98 More")


async def test_english_screens_print_persian_names_on_their_own_lines(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    await add_loan(client, "40010002", "bank_no_credit", bank="بانک تجارت", branch="انقلاب")
    reply = await _english_loan(Phone(client), "40010002")
    assert "بانک تجارت, انقلاب" not in reply
    assert "بانک تجارت\nانقلاب" in reply
    assert mixed_lines(reply) == []


async def test_english_names_are_used_where_the_record_has_them(gateway: GatewayFactory) -> None:
    client = await gateway()
    headers = await bearer(client, "records")
    status, body = await call(
        client, "PUT", "/v1/loans/40010001", headers,
        {"national_id": "0012345679", "mobile": ME, "stage": "bank_review", "bank": "بانک ملت",
         "branch": "ونک", "bank_en": "Bank Mellat", "branch_en": "Vanak branch"},
    )  # fmt: skip
    assert status == 201
    assert body["bank_en"] == "Bank Mellat"
    reply = await _english_loan(Phone(client), "40010001")
    assert "Bank Mellat, Vanak branch" in reply
    assert mixed_lines(reply) == []
    persian = await sms_to(client, ME, "loan_stage_changed")
    assert "بانک ملت، شعبه ونک" in persian[-1]["text"]
    status, body = await call(
        client, "PUT", "/v1/loans/40010001", headers,
        {"national_id": "0012345679", "mobile": ME, "stage": "bank_review",
         "bank_en": "بانک ملت"},
    )  # fmt: skip
    assert status == 400
    assert body["field"] == "bank_en"


async def test_an_english_sms_answer_never_puts_a_persian_name_in_a_sentence(
    gateway: GatewayFactory,
) -> None:
    client = await gateway(**KAVENEGAR)
    await add_loan(client, "12345678", "bank_review")  # Persian names only
    await inbound(client, "STATUS 12345678")
    [reply] = await sms_to(client, ME, "reply_loan_status")
    assert "branch مرکزی" not in reply["text"]
    assert mixed_lines(reply["text"]) == []
    assert "\nبانک ملت\nمرکزی\n" in reply["text"]


async def test_the_chosen_language_is_remembered_for_the_next_session(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    phone = Phone(client)
    await phone.dial()
    assert "1 Registration status" in await phone.send("9")
    assert "1 Registration status" in await phone.dial()  # a new session, in English
    assert "۱ پیگیری ثبت‌نام" in await Phone(client, OTHER).dial()  # only for this number
    await phone.send("9")
    assert "۱ پیگیری ثبت‌نام" in await phone.dial()  # and back to Persian


# --- 5. "my applications" with none: a way back (tests/test_flow_loans_complaints.py) ---------


async def test_my_applications_with_none_is_not_the_end(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway())
    await phone.dial()
    await phone.send("3")
    reply = await phone.send("2")
    assert not is_end(reply)
    assert "۱ با کد رهگیری" in await phone.send("0")
