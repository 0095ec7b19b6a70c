"""5. My requests (درخواست‌های من, seeds 001 and 004): `1` files a new Kartaban service request;
then the caller's own complaints and service requests, newest first, each opening to its status,
the date of its last change, a complaint's answer and an invoiced request's amount.

Only the caller's own number sees an item: the list is read by the caller's number, and an item
is opened again by number and number together.
"""

from __future__ import annotations

from sessions.engine import Action, Ask, Ctx, Custom, Goto, Invalid, Menu, Option, Outcome
from sessions.flows.base import Flow
from sessions.flows.common import LIMITED, deps_of, end
from sessions.normalize import to_persian_digits
from sessions.records import REQUEST_STATUSES, Complaint, ServiceRequest
from sessions.screens import Screen, T
from sessions.services import mine, requests
from sessions.services.mine import Item
from templates_sms import TemplateRegistry, format_amount, jalali_date, load_templates

START = "mine.start"
NEW_KEY = "1"
FIRST_ITEM_KEY = 2
PER_SCREEN = 7  # items on one list screen, keys 2..8
OLDER_KEY = "9"

NEW = T("درخواست خدمت تازه", "New service request")
OLDER = T("قدیمی‌ترها", "Older")
NONE_YET = T("موردی برای شماره شما ثبت نشده است.", "Nothing is registered for your number yet.")
NOT_FOUND = T("این مورد برای شماره شما یافت نشد.", "This item was not found for your number.")
LAST_CHANGE = T("آخرین تغییر: {d}", "Last change: {d}")
ANSWER = T("پاسخ: {a}", "Answer:\n{a}")  # in English a Persian answer gets a line of its own
INVOICE = T("مبلغ: {a} ریال", "Amount: {a} rials")
PAYMENT_REF = T("شناسه پرداخت: {r}", "Payment ID: {r}")

SERVICES = {
    "labour_law_consultation": T("مشاوره قانون کار", "Labour law advice"),
    "payslip": T("تنظیم فیش حقوق", "A payslip"),
    "payroll": T("تنظیم لیست حقوق", "A payroll list"),
    "other": T("سایر", "Other"),
}
SERVICE_TITLE = T("خدمت درخواستی:", "Which service?")
DESCRIPTION_MAX = 160
DESCRIBE = T("شرح کوتاه درخواست را بنویسید.\n۱ بدون شرح", "Write a short description.\n1 Skip")
DESCRIBE_RETRY = T("۱ بدون شرح", "1 Skip")
TOO_LONG = T("شرح حداکثر ۱۶۰ نویسه است.", "The description may have at most 160 characters.")
CONFIRM = T("درخواست «{s}» ثبت شود؟", "File a request for \u201c{s}\u201d?")
CONFIRM_OPTIONS = (("1", T("ثبت", "File")), ("2", T("انصراف", "Cancel")))
CANCELLED = T("درخواست ثبت نشد.", "The request was not filed.")
FILED = T(
    "درخواست شما با شماره {n} ثبت شد. این شماره پیامک هم می‌شود.",
    "Your request is filed as number {n}. It is sent to you by SMS too.",
)
TOO_MANY = T(
    "شما {n} درخواست در جریان دارید. با پایان یکی از آن‌ها درخواست تازه ثبت می‌شود.",
    "You have {n} requests in progress. A new one can be filed once one is finished.",
)
GIVE_UP = T("لطفاً دوباره شماره‌گیری کنید.", "Please dial again.")
SKIP_KEY = "1"


def _label(item: Item) -> T:
    return T(
        f"{mine.kind_label(item, 'fa')} {to_persian_digits(item.number)}",
        f"{mine.kind_label(item, 'en')} {item.number}",
    )


def list_screen(items: list[Item], at: int) -> Screen:
    shown = items[at : at + PER_SCREEN]
    options = [(NEW_KEY, NEW)]
    options += [(str(FIRST_ITEM_KEY + i), _label(item)) for i, item in enumerate(shown)]
    if at + PER_SCREEN < len(items):
        options.append((OLDER_KEY, OLDER))
    body = (NONE_YET,) if not items else ()
    return Screen(body=body, options=tuple(options))


async def _list(ctx: Ctx) -> Outcome:
    items = await mine.of_caller(deps_of(ctx), ctx.msisdn)
    at = int(ctx.state.data.get("mine.at", "0") or 0)
    if at >= len(items):
        at = 0
    ctx.state.data["mine.at"] = str(at)
    ctx.state.data["mine.shown"] = ",".join(i.number for i in items[at : at + PER_SCREEN])
    ctx.state.data["mine.more"] = "1" if at + PER_SCREEN < len(items) else ""
    return list_screen(items, at)


async def _pick(ctx: Ctx, text: str) -> Outcome:
    data = ctx.state.data
    shown = [n for n in data.get("mine.shown", "").split(",") if n]
    if text == NEW_KEY:
        return Goto("mine.new")
    if text == OLDER_KEY and data.get("mine.more"):
        data["mine.at"] = str(int(data.get("mine.at", "0") or 0) + PER_SCREEN)
        return await _list(ctx)
    if text.isdigit() and 0 <= int(text) - FIRST_ITEM_KEY < len(shown):
        data["mine.item"] = shown[int(text) - FIRST_ITEM_KEY]
        return Goto("mine.item")
    return await _list(ctx)


def item_screen(templates: TemplateRegistry, item: Item) -> Screen:
    status = T(mine.status_label(templates, item, "fa"), mine.status_label(templates, item, "en"))
    head = T(f"{_label(item).fa}: {status.fa}", f"{_label(item).en}: {status.en}")
    lines = [
        head,
        T(
            LAST_CHANGE.fa.format(d=jalali_date(item.changed, "fa")),
            LAST_CHANGE.en.format(d=jalali_date(item.changed, "en")),
        ),
    ]
    record = item.record
    if isinstance(record, Complaint) and record.answer and record.status in ("answered", "closed"):
        lines.append(T(ANSWER.fa.format(a=record.answer), ANSWER.en.format(a=record.answer)))
    if isinstance(record, ServiceRequest) and record.status == "invoiced":
        lines.append(
            T(
                INVOICE.fa.format(a=format_amount(record.amount, "fa")),
                INVOICE.en.format(a=format_amount(record.amount, "en")),
            )
        )
        lines.append(PAYMENT_REF.format(r=record.payment_ref))
    return Screen(body=tuple(lines))  # waits: `0` back to the list, `00` home


async def _item(ctx: Ctx) -> Outcome:
    deps = deps_of(ctx)
    item = await mine.own(deps, ctx.state.data.get("mine.item", ""), ctx.msisdn)
    return end(NOT_FOUND) if item is None else item_screen(deps.templates, item)


async def _item_again(ctx: Ctx, text: str) -> Outcome:
    return await _item(ctx)


# --- a new service request ---------------------------------------------------------------------


def _too_many(limit: int) -> Screen:
    return end(T(TOO_MANY.fa.format(n=to_persian_digits(str(limit))), TOO_MANY.en.format(n=limit)))


async def _gate(ctx: Ctx) -> Outcome:
    deps = deps_of(ctx)
    limit = deps.policy.max_unfinished_requests
    if await requests.count_unfinished(deps, ctx.msisdn) >= limit:
        return _too_many(limit)
    return Goto("mine.service")


def _describe(text: str) -> str:
    if text == SKIP_KEY:
        return ""
    if len(text) > DESCRIPTION_MAX:
        raise Invalid(TOO_LONG)
    return text


def _confirm_screen(service: str) -> Screen:
    label = SERVICES.get(service, SERVICES["other"])
    question = T(CONFIRM.fa.format(s=label.fa), CONFIRM.en.format(s=label.en))
    return Screen(body=(question,), options=CONFIRM_OPTIONS)


async def _confirm(ctx: Ctx) -> Outcome:
    return _confirm_screen(ctx.state.data.get("service", "other"))


async def _confirmed(ctx: Ctx, text: str) -> Outcome:
    if text == "1":
        return Goto("mine.file")
    if text == "2":
        return end(CANCELLED)
    return await _confirm(ctx)


def _filed(number: str) -> Screen:
    return end(T(FILED.fa.format(n=to_persian_digits(number)), FILED.en.format(n=number)))


async def _file(ctx: Ctx) -> Outcome:
    deps = deps_of(ctx)
    data = ctx.state.data
    service = data.get("service", "other")
    record = await requests.file(
        deps,
        ctx.msisdn,
        [service if service in SERVICES else "other"],
        data.get("description", ""),
        channel="ussd",
        lang=ctx.state.lang,
        capped=True,
    )
    limit = deps.policy.max_unfinished_requests
    return _too_many(limit) if record is None else _filed(record.number)


def _samples() -> list[Screen]:
    templates = load_templates()
    widest_complaint = Complaint("99999999", "", "other", "answered", answer="ب" * 100)
    widest_complaint.updated_at = 1.7e9
    screens = [item_screen(templates, Item(widest_complaint))]
    for status in REQUEST_STATUSES:
        request = ServiceRequest("999999999", "", "", "", "other", status=status)
        request.amount, request.payment_ref, request.updated_at = 999_999_999_999, "W" * 20, 1.7e9
        screens.append(item_screen(templates, Item(request)))
    many = [Item(ServiceRequest("999999999", "", "", "", "other")) for _ in range(PER_SCREEN + 1)]
    return [
        *screens,
        list_screen(many, 0),
        list_screen([], 0),
        *(_confirm_screen(s) for s in SERVICES),
        _filed("999999999"),
        _too_many(3),
        end(CANCELLED),
        end(NOT_FOUND),
        end(LIMITED),
    ]


FLOW = Flow(
    key="mine",
    label=T("درخواست‌های من", "My requests"),
    entry=START,
    nodes={
        START: Custom(_list, _pick),
        "mine.item": Custom(_item, _item_again),
        "mine.new": Action(_gate),
        "mine.service": Menu(
            SERVICE_TITLE,
            tuple(
                Option(str(i), label, "mine.describe", {"service": key})
                for i, (key, label) in enumerate(SERVICES.items(), start=1)
            ),
        ),
        "mine.describe": Ask(
            DESCRIBE,
            "description",
            _describe,
            "mine.confirm",
            GIVE_UP,
            (TOO_LONG,),
            retry=DESCRIBE_RETRY,
        ),
        "mine.confirm": Custom(_confirm, _confirmed),
        "mine.file": Action(_file),
    },
    samples=_samples,
)
