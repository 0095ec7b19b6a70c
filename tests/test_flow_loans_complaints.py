"""Flows 3 and 4: loan status and complaints, and the objection path from a rejected loan."""

from __future__ import annotations

from sessions.records import Complaint
from tests.conftest import GatewayFactory
from tests.phone import Phone, is_end, screen
from tests.seed import ME, ME_INTL, OTHER, add_loan, deps, sms_to


async def _pages(phone: Phone, reply: str) -> str:
    """All pages of a screen, read as one text: what the caller sees pressing 98."""
    pages = [reply]
    while "۹۸ بیشتر" in pages[-1]:
        pages.append(await phone.send("98"))
    lines = [line for page in pages for line in screen(page).split("\n") if line != "۹۸ بیشتر"]
    kind = "END" if is_end(pages[-1]) else "CON"
    return f"{kind} " + "\n".join(lines)


async def _by_code(phone: Phone, code: str) -> str:
    await phone.dial()
    await phone.send("3")
    await phone.send("1")
    return await _pages(phone, await phone.send(code))


async def test_loan_by_code_shows_stage_bank_branch_and_jalali_date(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    await add_loan(client, "12345678", "bank_review")
    reply = await _by_code(Phone(client, ME_INTL), "۱۲۳۴۵۶۷۸")
    assert "۱۲۳۴۵۶۷۸: در حال بررسی در بانک عامل" in reply
    assert "بانک ملت، مرکزی" in reply
    assert "۱ آذر ۱۴۰۴" in reply  # the fake clock's date (2025-11-22) in the Jalali calendar
    assert is_end(reply)


async def test_bank_without_credit_says_to_change_bank_or_branch(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_loan(client, "12345678", "bank_no_credit")
    reply = await _by_code(Phone(client), "12345678")
    assert "بانک یا شعبه را تغییر دهید" in reply.replace("\n", " ")


async def test_someone_elses_loan_is_not_found(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_loan(client, "12345678", "approved")
    reply = await _by_code(Phone(client, OTHER), "12345678")
    missing = await _by_code(Phone(client, OTHER), "87654321")
    assert "یافت نشد" in reply
    assert reply.replace("12345678", "") == missing.replace("87654321", "")


async def test_my_applications_lists_only_mine(gateway: GatewayFactory) -> None:
    client = await gateway()
    await add_loan(client, "11111111", "submitted")
    await add_loan(client, "22222222", "paid")
    await add_loan(client, "33333333", "approved", mobile=OTHER)
    phone = Phone(client)
    await phone.dial()
    await phone.send("3")
    listing = await phone.send("2")
    assert "۱۱۱۱۱۱۱۱" in listing
    assert "۲۲۲۲۲۲۲۲" in listing
    assert "۳۳۳۳۳۳۳۳" not in listing
    choice = "1" if "۱ ۱۱۱۱۱۱۱۱" in listing else "2"
    detail = await _pages(phone, await phone.send(choice))
    assert "۱۱۱۱۱۱۱۱: ثبت شده و در انتظار بررسی" in detail


async def test_no_applications_leaves_a_way_back(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway())
    await phone.dial()
    await phone.send("3")
    reply = await phone.send("2")
    assert not is_end(reply)
    assert "درخواست تسهیلاتی برای شماره شما ثبت نشده است" in reply
    assert "۰ بازگشت ۰۰ خانه" in reply
    assert "۱ با کد رهگیری" in await phone.send("0")  # back to the loan menu
    await phone.send("2")
    assert (await phone.send("00")).startswith("CON ۱ پیگیری ثبت‌نام")


async def test_rejected_loan_offers_an_objection_that_files_a_complaint(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    await add_loan(client, "12345678", "rejected")
    phone = Phone(client)
    await phone.dial()
    await phone.send("3")
    await phone.send("1")
    first_page = await phone.send("12345678")
    assert "۱ ثبت اعتراض" in first_page  # the choice is on the first page, details after it
    reply = await _pages(phone, first_page)
    assert "رد شده" in reply
    assert "۱ ثبت اعتراض" in reply
    assert "کد کارگاه را وارد کنید" in await phone.send("1")  # subject is already known
    await phone.send("۱۲۳۴۵۶")
    await phone.send("بانک بدون دلیل رد کرد")
    filed = await phone.send("1")
    assert is_end(filed)
    assert "ثبت شد" in filed
    [sms] = await sms_to(client, ME, "complaint_received")
    complaints = await deps(client).store.find_records(Complaint, {}, limit=10)
    assert len(complaints) == 1
    c = complaints[0]
    assert (c.subject, c.loan_code, c.workshop_code, c.body) == (
        "loan_rejected",
        "12345678",
        "123456",
        "بانک بدون دلیل رد کرد",
    )
    assert c.ticket.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) in sms["body"]


async def _complain(
    phone: Phone, subject: str, workshop: str, body: str, confirm: str = "1"
) -> str:
    await phone.dial()
    await phone.send("4")
    await phone.send(subject)
    await phone.send(workshop)
    await phone.send(body)
    return await phone.send(confirm)


async def test_complaint_with_no_workshop_code_and_no_text(gateway: GatewayFactory) -> None:
    client = await gateway()
    reply = await _complain(Phone(client), "4", "1", "1")
    assert "ثبت شد" in reply
    [c] = await deps(client).store.find_records(Complaint, {}, limit=10)
    assert (c.subject, c.workshop_code, c.body, c.status, c.msisdn) == ("other", "", "", "open", ME)
    ticket_fa = c.ticket.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert ticket_fa in reply


async def test_a_star_inside_the_description_is_kept(gateway: GatewayFactory) -> None:
    client = await gateway()
    await _complain(Phone(client), "2", "1234", "کد *123# جواب نداد")
    [c] = await deps(client).store.find_records(Complaint, {}, limit=10)
    assert c.body == "کد *123# جواب نداد"
    assert c.subject == "workshop_not_found"


async def test_bad_workshop_code_is_asked_again(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway())
    await phone.dial()
    await phone.send("4")
    await phone.send("1")
    reply = await phone.send("12")
    assert "کد کارگاه باید ۴ تا ۱۲ رقم باشد" in reply
    assert not is_end(reply)


async def test_cancel_files_nothing(gateway: GatewayFactory) -> None:
    client = await gateway()
    reply = await _complain(Phone(client), "3", "1", "1", confirm="2")
    assert is_end(reply)
    assert "ثبت نشد" in reply
    assert await deps(client).store.find_records(Complaint, {}, limit=10) == []
    assert await sms_to(client, ME) == []


async def test_at_most_three_open_complaints_per_number(gateway: GatewayFactory) -> None:
    client = await gateway()
    for _ in range(3):
        assert "ثبت شد" in await _complain(Phone(client), "4", "1", "1")
    phone = Phone(client)
    await phone.dial()
    blocked = await phone.send("4")
    assert is_end(blocked)
    assert "۳ اعتراض بی‌پاسخ دارید" in blocked
    assert "بررسی" not in blocked  # the limit is lifted by an answer, not a review
    assert len(await deps(client).store.find_records(Complaint, {}, limit=10)) == 3
    assert "ثبت شد" in await _complain(Phone(client, OTHER), "4", "1", "1")
