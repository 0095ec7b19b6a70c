"""Every shipped template renders in both languages with the texts a citizen should read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

import pytest

from templates_sms import TemplateError, TemplateRegistry, load_templates
from templates_sms.gsm import sms_segments

NOV_21 = datetime(2025, 11, 21, 10, 30, tzinfo=UTC)  # 30 Aban 1404, 14:00 in Tehran

# template id -> (params, fragments expected in fa, fragments expected in en)
SAMPLES: dict[str, tuple[dict[str, object], list[str], list[str]]] = {
    "registration_activated": (
        {"gender": "male", "name": "علی رضایی"},
        ["جناب آقای علی رضایی", "خوش آمدید", "حساب کاربری شما فعال گردید"],
        ["Mr علی رضایی", "account is now active"],
    ),
    "registration_approved_visit_branch": (
        {"gender": "female", "name": "مریم احمدی"},
        ["سرکار خانم مریم احمدی", "ثبت نام شما تأیید شد", "نزدیکترین شعبه"],
        ["Ms مریم احمدی", "nearest branch"],
    ),
    "registration_identity_mismatch": (
        {},
        ["با پایگاه مرجع مطابقت ندارد", "مجدداً ثبت نام نمائید"],
        ["do not match", "register again"],
    ),
    "registration_received": (
        {},
        ["درخواست شما با موفقیت ثبت گردید", "از طریق پیامک ارسال خواهد شد"],
        ["registered successfully", "by SMS"],
    ),
    "registration_in_review": ({}, ["در دست بررسی", "۴۸ ساعت"], ["under review", "48 hours"]),
    "password_reset": (
        {"tracking_code": "48213977", "password": "Xk7pQ2mz9"},
        ["کاربر گرامی", "کد رهگیری 48213977 رمز Xk7pQ2mz9 تخصیص داده شد"],
        ["tracking code 48213977", "password Xk7pQ2mz9"],
    ),
    "loan_stage_changed": (
        {
            "tracking_code": "K1404123",
            "stage": "bank_no_credit",
            "bank": "بانک ملت",
            "branch": "مرکزی",
            "date": NOV_21,
        },
        ["K1404123", "بانک یا شعبه را تغییر دهید", "بانک ملت، شعبه مرکزی", "۳۰ آبان ۱۴۰۴"],
        ["K1404123", "change bank or branch on the portal", "30 Aban 1404"],
    ),
    "complaint_received": (
        {"ticket": "40213"},
        ["شماره پیگیری ۴۰۲۱۳", "ثبت شد"],
        ["ticket number 40213"],
    ),
    "complaint_status_changed": (
        {"ticket": 40213, "status": "answered", "answer": "مدارک تأیید شد"},
        ["اعتراض شماره ۴۰۲۱۳", "پاسخ داده شد", "\nپاسخ: مدارک تأیید شد"],
        ["Complaint 40213", "answered", "\nAnswer: مدارک تأیید شد"],
    ),
    "activation_code": ({"code": "50731"}, ["کد فعال سازی شما: 50731"], ["code: 50731"]),
    "keyword_help": (
        {},
        ["وضعیت یا STATUS", "پیگیری یا REG", "رمز یا RESET", "اعتراض یا TICKET"],
        ["STATUS + tracking code", "REG + national ID", "RESET + national ID", "TICKET + text"],
    ),
    "reply_loan_status": (
        {
            "tracking_code": "K1404123",
            "stage": "rejected",
            "bank": "بانک سینا",
            "branch": "ونک",
            "date": date(2025, 11, 21),
        },
        ["K1404123", "رد شده؛ میتوانید اعتراض ثبت نمائید", "بانک سینا", "۳۰ آبان ۱۴۰۴"],
        ["rejected; you may file an objection", "30 Aban 1404"],
    ),
    "reply_registration_status": (
        {"status": "in_review"},
        ["در دست بررسی", "۴۸ ساعت"],
        ["under review", "48 hours"],
    ),
    "reply_not_found": ({}, ["اطلاعاتی مطابق با درخواست شما یافت نشد"], ["no information"]),
    "request_received": ({"number": "123456789"}, ["۱۲۳۴۵۶۷۸۹ ثبت شد"], ["number 123456789"]),
    "request_in_review": ({"number": "123456789"}, ["در دست بررسی"], ["being reviewed"]),
    "request_referred": (
        {"number": "123456789", "note": "سؤال عمومی"},
        ["پرسش و پاسخ", "\nتوضیح: سؤال عمومی"],
        ["Q&A", "\nNote:\nسؤال عمومی"],
    ),
    "request_invoiced": (
        {"number": "123456789", "amount": 2_500_000, "payment_ref": "KB1"},
        ["۲٬۵۰۰٬۰۰۰ ریال", "KB1"],
        ["2,500,000 rials", "KB1"],
    ),
    "request_paid": ({"number": "123456789"}, ["دریافت شد"], ["received"]),
    "request_delivered": (
        {"number": "123456789", "delivery": "phone_consultation"},
        ["مشاوره تلفنی"],
        ["a phone consultation"],
    ),
    "request_cancelled": ({"number": "123456789"}, ["لغو شد"], ["cancelled"]),
    "reply_request_status": (
        {"number": "123456789", "status": "referred", "date": date(2025, 11, 21)},
        ["درخواست خدمت ۱۲۳۴۵۶۷۸۹: ارجاع به پرسش و پاسخ", "۳۰ آبان ۱۴۰۴"],
        ["Service request 123456789: referred to the Q&A", "30 Aban 1404"],
    ),
    "reply_request_invoice": (
        {
            "number": "123456789",
            "amount": 2_500_000,
            "payment_ref": "KB1",
            "date": date(2025, 11, 21),
        },
        ["صورتحساب ۲٬۵۰۰٬۰۰۰ ریال", "شناسه پرداخت: KB1"],
        ["invoice of 2,500,000 rials", "Payment ID: KB1"],
    ),
    "reply_complaint_status": (
        {
            "ticket": "12345678",
            "status": "answered",
            "date": date(2025, 11, 21),
            "answer": "تأیید شد",
        },
        ["اعتراض ۱۲۳۴۵۶۷۸: پاسخ داده شد", "\nپاسخ: تأیید شد"],
        ["Complaint 12345678: answered", "\nAnswer:\nتأیید شد"],
    ),
    "reply_my_requests": (
        {"first": "اعتراض ۱۲۳۴۵۶۷۸: ثبت شده", "second": "درخواست ۱۲۳۴۵۶۷۸۹: لغو شد"},
        ["\n- اعتراض ۱۲۳۴۵۶۷۸: ثبت شده\n- درخواست ۱۲۳۴۵۶۷۸۹: لغو شد\nجزئیات"],
        ["Your requests:\n- "],
    ),
    "reply_no_requests": ({}, ["ثبت نشده است"], ["no complaint or request"]),
    "loan_branch_queues": (
        {"city": "تهران", "first": "بانک ملی، تجریش: ۳", "second": "بانک سپه، آزادی: ۱۲"},
        ["در تهران:\n- بانک ملی، تجریش: ۳\n- بانک سپه، آزادی: ۱۲"],
        ["shortest queues in\nتهران\n- "],
    ),
    "reply_invalid_identifier": (
        {"foreign_digits": "۱۲"},
        ["شناسه اتباع خارجی ۱۲ رقم"],
        ["a foreign national ID ۱۲"],
    ),
    "reply_invalid_loan_code": (
        {"lengths": "6 to 20"},
        ["کد رهگیری تسهیلات 6 to 20 رقم"],
        ["a loan tracking code has 6 to 20 digits"],
    ),
    "reply_reset_requested": (
        {},
        ["چنانچه شماره همراه و کد ملی", "رمز جدید"],
        ["If this number and the national ID match an account", "new password"],
    ),
    "reply_rate_limited": ({}, ["بیش از حد مجاز"], ["too many requests"]),
    "verify_activation": ({"code": "482913"}, ["کد فعال‌سازی", "482913"], ["activation code"]),
    "verify_delete_unit": (
        {"code": "482913"},
        ["کد تأیید حذف واحد صنفی", "482913"],
        ["confirm deleting your business unit"],
    ),
    "verify_password_recovery": (
        {"code": "482913"},
        ["کد بازیابی رمز عبور", "482913"],
        ["password recovery code"],
    ),
}


@pytest.fixture(scope="module")
def registry() -> TemplateRegistry:
    return load_templates()


def test_the_shipped_templates_are_exactly_the_documented_ones(registry: TemplateRegistry) -> None:
    assert registry.ids() == sorted(SAMPLES)


@pytest.mark.parametrize("template_id", sorted(SAMPLES))
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_each_template_renders_within_its_budget(
    registry: TemplateRegistry, template_id: str, lang: str
) -> None:
    params, fa_fragments, en_fragments = SAMPLES[template_id]
    text = registry.render(template_id, lang, params)
    for fragment in fa_fragments if lang == "fa" else en_fragments:
        assert fragment in text
    assert "{" not in text
    assert "}" not in text
    assert sms_segments(text).parts <= registry.get(template_id).budget_parts


@pytest.mark.parametrize(
    ("gender", "fa_start", "en_start"),
    [
        ("male", "جناب آقای علی رضایی به سیستم", "Mr علی رضایی, welcome"),
        ("female", "سرکار خانم علی رضایی به سیستم", "Ms علی رضایی, welcome"),
        ("unknown", "کاربر گرامی به سیستم", "Dear user, welcome"),
        (None, "کاربر گرامی به سیستم", "Dear user, welcome"),
    ],
)
def test_the_honorific_follows_the_gender(
    registry: TemplateRegistry, gender: str | None, fa_start: str, en_start: str
) -> None:
    params = {"gender": gender, "name": "علی رضایی"}
    assert registry.render("registration_activated", "fa", params).startswith(fa_start)
    assert registry.render("registration_activated", "en", params).startswith(en_start)


def test_the_neutral_greeting_needs_no_name(registry: TemplateRegistry) -> None:
    text = registry.render("registration_activated", "fa", {})
    assert text.startswith("کاربر گرامی به سیستم های متمرکز")


def test_seed_texts_are_kept_word_for_word(registry: TemplateRegistry) -> None:
    assert registry.render("registration_received", "fa", {}) == (
        "درخواست شما با موفقیت ثبت گردید و نتیجه مراحل انجام شده از طریق پیامک ارسال خواهد شد."
    )
    params = {"tracking_code": "12345678", "password": "Ab1"}
    assert registry.render("password_reset", "fa", params) == (
        "کاربر گرامی برای درخواست شما به کد رهگیری 12345678 رمز Ab1 تخصیص داده شد."
    )


@pytest.mark.parametrize(
    ("stage", "fa_fragment", "en_fragment"),
    [
        ("submitted", "در انتظار بررسی", "submitted"),
        ("agency_review", "دستگاه اجرایی", "executive agency"),
        ("bank_review", "بانک عامل", "agent bank"),
        ("bank_no_credit", "بانک یا شعبه را تغییر دهید", "change bank or branch"),
        ("approved", "تأیید شده", "approved"),
        ("paid", "پرداخت شده", "paid"),
        ("rejected", "اعتراض", "objection"),
    ],
)
def test_loan_stage_labels_say_what_to_do(
    registry: TemplateRegistry, stage: str, fa_fragment: str, en_fragment: str
) -> None:
    params = {**SAMPLES["loan_stage_changed"][0], "stage": stage}
    assert fa_fragment in registry.render("loan_stage_changed", "fa", params)
    assert en_fragment in registry.render("loan_stage_changed", "en", params)


def test_optional_answer_is_left_out_cleanly(registry: TemplateRegistry) -> None:
    params = {"ticket": "40213", "status": "closed"}
    assert registry.render("complaint_status_changed", "fa", params) == (
        "وضعیت اعتراض شماره ۴۰۲۱۳: بسته شد"
    )
    assert registry.render("complaint_status_changed", "en", params) == "Complaint 40213: closed"


def test_codes_keep_ascii_digits_while_numbers_turn_persian(registry: TemplateRegistry) -> None:
    text = registry.render("activation_code", "fa", {"code": "0123"})
    assert "0123" in text
    assert "۰۱۲۳" in registry.render("complaint_received", "fa", {"ticket": "0123"})


def test_names_are_tidied_but_never_cut(registry: TemplateRegistry) -> None:
    name = " علي \n كريمي "
    text = registry.render("registration_activated", "fa", {"gender": "male", "name": name})
    assert "جناب آقای علی کریمی به" in text


def test_metadata_of_otp_templates(registry: TemplateRegistry) -> None:
    activation = registry.get("activation_code")
    assert activation.kind == "otp"
    assert activation.resend_after_s == 120
    assert registry.get("password_reset").kind == "otp"
    assert activation.priority < registry.get("loan_stage_changed").priority


def test_the_worst_case_check_passes_for_shipped_templates(registry: TemplateRegistry) -> None:
    assert registry.check() == []


LOAN: Mapping[str, object] = SAMPLES["loan_stage_changed"][0]


@pytest.mark.parametrize(
    ("template_id", "lang", "params", "code", "field"),
    [
        ("no_such_template", "fa", {}, "unknown_template", "template"),
        ("reply_not_found", "de", {}, "invalid_parameter", "lang"),
        ("reply_not_found", "fa", {"name": "x"}, "unknown_parameter", "name"),
        ("activation_code", "fa", {}, "missing_parameter", "code"),
        ("activation_code", "fa", {"code": None}, "missing_parameter", "code"),
        ("activation_code", "fa", {"code": "12-34"}, "invalid_parameter", "code"),
        ("activation_code", "fa", {"code": "123456789"}, "invalid_parameter", "code"),
        ("activation_code", "fa", {"code": 1234}, "invalid_parameter", "code"),
        ("registration_activated", "fa", {"gender": "male"}, "missing_parameter", "name"),
        ("registration_activated", "fa", {"gender": "other"}, "invalid_parameter", "gender"),
        ("registration_activated", "fa", {"name": "ش" * 41}, "invalid_parameter", "name"),
        ("registration_activated", "fa", {"name": "   "}, "invalid_parameter", "name"),
        ("registration_activated", "fa", {"name": "a\x07b"}, "invalid_parameter", "name"),
        ("registration_activated", "fa", {"name": "\u202eevil"}, "invalid_parameter", "name"),
        ("registration_activated", "fa", {"name": 7}, "invalid_parameter", "name"),
        ("complaint_received", "fa", {"ticket": "12a"}, "invalid_parameter", "ticket"),
        ("complaint_received", "fa", {"ticket": "1" * 13}, "invalid_parameter", "ticket"),
        ("complaint_received", "fa", {"ticket": -5}, "invalid_parameter", "ticket"),
        ("complaint_received", "fa", {"ticket": True}, "invalid_parameter", "ticket"),
        ("loan_stage_changed", "fa", {**LOAN, "stage": "lost"}, "invalid_parameter", "stage"),
        (
            "loan_stage_changed",
            "fa",
            {**LOAN, "date": datetime(2025, 11, 21)},  # naive on purpose
            "invalid_parameter",
            "date",
        ),
        ("loan_stage_changed", "fa", {**LOAN, "date": "1404/13/01"}, "invalid_parameter", "date"),
        ("loan_stage_changed", "fa", {**LOAN, "date": 20251121}, "invalid_parameter", "date"),
        ("loan_stage_changed", "en", {**LOAN, "bank": "x" * 31}, "invalid_parameter", "bank"),
        (
            "complaint_status_changed",
            "fa",
            {"ticket": "1", "status": "open", "answer": "ب" * 101},
            "invalid_parameter",
            "answer",
        ),
    ],
)
def test_errors_carry_a_stable_code_and_the_field(
    registry: TemplateRegistry,
    template_id: str,
    lang: str,
    params: Mapping[str, object],
    code: str,
    field: str,
) -> None:
    with pytest.raises(TemplateError) as caught:
        registry.render(template_id, lang, params)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_dates_accept_jalali_and_iso_strings(registry: TemplateRegistry) -> None:
    for value in ("1404/08/30", "۱۴۰۴/۰۸/۳۰", "2025-11-21T12:00+03:30"):
        text = registry.render("loan_stage_changed", "fa", {**LOAN, "date": value})
        assert "۳۰ آبان ۱۴۰۴" in text
