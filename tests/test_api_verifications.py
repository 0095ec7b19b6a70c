"""`/v1/verifications` through the HTTP API: seed 001's activation code with "send again" after
120 s, the deletion confirmation with its own text, wrong tries, expiry, a code bound to a national
ID, the per-number caps, and the answer for an id that is not the caller's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from gateway.settings import Settings
from sessions.sealing import Sealer, new_seal_key
from sessions.services.verify import PURPOSES
from tests.api_helpers import Client, bearer, call, deps, sms
from tests.conftest import FakeClock, GatewayFactory

ME = "09121234567"
NID = "0012345679"
OTHER_NID = "0013542419"
SEND = "/v1/verifications"


def check_path(verification_id: str) -> str:
    return f"{SEND}/{verification_id}/check"


async def send(client: Client, auth: dict[str, str], **body: Any) -> tuple[int, dict[str, Any]]:
    status, answer = await call(client, "POST", SEND, auth, {"mobile": ME, **body})
    return status, answer


async def started(client: Client, auth: dict[str, str], **body: Any) -> tuple[str, str]:
    """A new verification's id and the code in its SMS (opened from its seal)."""
    status, answer = await send(client, auth, **body)
    assert status == 201, answer
    message = [m for m in await sms(client) if m["template_id"].startswith("verify_")][-1]
    return answer["id"], message["code"]


async def check(
    client: Client, auth: dict[str, str], verification_id: str, code: str, **extra: Any
) -> dict[str, Any]:
    status, answer = await call(
        client, "POST", check_path(verification_id), auth, {"code": code, **extra}
    )
    assert status == 200, answer
    assert set(answer) == {"status", "valid"}
    assert answer["valid"] is (answer["status"] == "approved")
    result: dict[str, Any] = answer
    return result


async def test_seed_001_send_resend_after_120_s_and_check(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    status, first = await send(client, auth, purpose="activation", mobile="+98 912 123 4567")
    assert status == 201
    assert first["status"] == "pending"
    assert first["mobile"] == "0912***4567"
    assert first["resend_after_s"] == 120
    assert first["id"].startswith("vf_")
    [message] = await sms(client, ME)
    old_code = message["code"]
    assert len(old_code) == 6
    assert old_code.isdigit()
    assert message["template_id"] == "verify_activation"
    assert message["text"].startswith("کد فعال‌سازی شما: " + old_code)
    assert message["priority"] == 0
    assert message["expires_at"] == clock.now + 600
    assert old_code not in message["body"]  # only the sealed text holds it

    clock.advance(50)
    status, refused = await send(client, auth, purpose="activation")
    assert (status, refused["code"], refused["retry_after"]) == (429, "resend_too_soon", 70)
    assert len(await sms(client, ME)) == 1  # nothing sent

    clock.advance(70)
    new_id, new_code = await started(client, auth, purpose="activation")
    assert new_id != first["id"]
    assert len(await sms(client, ME)) == 2
    # The old code is void: on its own verification, and on the new one.
    assert (await check(client, auth, first["id"], old_code))["status"] == "spent"
    if old_code != new_code:
        assert (await check(client, auth, new_id, old_code))["status"] == "wrong_code"
    assert (await check(client, auth, new_id, new_code))["status"] == "approved"
    assert (await check(client, auth, new_id, new_code))["status"] == "spent"  # once


async def test_the_resend_interval_is_a_setting_per_purpose(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway(verify_resend_s="delete_unit=30")
    auth = await bearer(client, "verify")
    await started(client, auth, purpose="delete_unit")
    await started(client, auth, purpose="activation")  # another purpose: its own interval
    clock.advance(10)
    status, refused = await send(client, auth, purpose="delete_unit")
    assert (status, refused["retry_after"]) == (429, 20)
    clock.advance(20)
    new_id, _ = await started(client, auth, purpose="delete_unit")
    messages = await sms(client, ME)
    # The first deletion code, still waiting, never goes out now.
    first = next(m for m in messages if m["template_id"] == "verify_delete_unit")
    assert first["status"] == "cancelled"
    assert first["sealed"] is None
    assert new_id


async def test_the_deletion_confirmation_has_its_own_text(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    _, code = await started(client, auth, purpose="delete_unit")
    [message] = await sms(client, ME)
    assert message["template_id"] == "verify_delete_unit"
    assert message["text"].startswith("کد تأیید حذف واحد صنفی: " + code)
    assert "فعال" not in message["text"]
    _, _ = await started(client, auth, purpose="password_recovery")
    recovery = (await sms(client, ME))[-1]
    assert recovery["text"].startswith("کد بازیابی رمز عبور: ")
    assert (await send(client, auth, purpose="activation", lang="en"))[0] == 201
    english = (await sms(client, ME))[-1]
    assert english["text"].startswith("Your activation code: " + english["code"])


async def test_every_purpose_fits_one_sms_part(gateway: GatewayFactory) -> None:
    client = await gateway()
    templates = deps(client).templates
    for purpose in PURPOSES.values():
        template = templates.get(purpose.template_id)
        assert template.budget_parts == 1
        assert template.audience == "gateway"
        assert template.priority == 0
        for lang in ("fa", "en"):
            _, segments = templates.worst_case(purpose.template_id, lang)
            assert segments.parts == 1, (purpose, lang)


async def test_wrong_tries_until_spent(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    verification_id, code = await started(client, auth, purpose="activation")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert (await check(client, auth, verification_id, wrong))["status"] == "wrong_code"
    assert (await check(client, auth, verification_id, code))["status"] == "spent"


async def test_a_code_expires_after_ten_minutes(gateway: GatewayFactory, clock: FakeClock) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    verification_id, code = await started(client, auth, purpose="activation")
    clock.advance(600)
    assert (await check(client, auth, verification_id, code))["status"] == "expired"


async def test_persian_digits_are_read_as_the_code(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    verification_id, code = await started(client, auth, purpose="activation")
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert (await check(client, auth, verification_id, persian))["status"] == "approved"


async def test_a_code_bound_to_a_national_id(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    verification_id, code = await started(
        client, auth, purpose="password_recovery", national_id=NID
    )
    other = await check(client, auth, verification_id, code, national_id=OTHER_NID)
    assert other["status"] == "wrong_code"
    assert (await check(client, auth, verification_id, code))["status"] == "wrong_code"
    persian_nid = NID.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    right = await check(client, auth, verification_id, code, national_id=persian_nid)
    assert right["status"] == "approved"


async def test_an_unknown_or_foreign_id_answers_as_a_wrong_code(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    stranger = await bearer(client, "verify", name="another-portal")
    verification_id, code = await started(client, auth, purpose="activation")
    wrong = "000000" if code != "000000" else "111111"
    wrong_answer = await check(client, auth, verification_id, wrong)
    foreign = await check(client, stranger, verification_id, code)
    unknown = await check(client, auth, "vf_" + "0" * 24, code)
    malformed = await check(client, auth, "no-such-id", code)
    assert (
        wrong_answer
        == foreign
        == unknown
        == malformed
        == {
            "status": "wrong_code",
            "valid": False,
        }
    )
    # The stranger's try changed nothing: the owner still gets it right.
    assert (await check(client, auth, verification_id, code))["status"] == "approved"


async def test_five_codes_an_hour_and_ten_a_day_per_number(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    for _ in range(5):
        await started(client, auth, purpose="activation")
        clock.advance(121)
    status, refused = await send(client, auth, purpose="activation")
    assert (status, refused["code"]) == (429, "rate_limited")
    assert refused["retry_after"] == 3600 - 5 * 121
    other_purpose, _ = await send(client, auth, purpose="delete_unit")
    assert other_purpose == 429  # the cap is the number's, whatever the purpose
    status, _ = await send(client, auth, purpose="activation", mobile="09351112233")
    assert status == 201  # another number has its own
    clock.advance(3600)
    for _ in range(5):
        await started(client, auth, purpose="activation")
        clock.advance(121)
    status, refused = await send(client, auth, purpose="activation")
    assert (status, refused["code"]) == (429, "rate_limited")
    assert refused["retry_after"] > 3600  # the day's ten are spent


async def test_bad_requests_are_4xx_with_the_field(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    cases: list[tuple[dict[str, Any], int, str, str | None]] = [
        ({"mobile": "0912", "purpose": "activation"}, 400, "invalid_mobile", "mobile"),
        ({"mobile": ME, "purpose": "lunch"}, 400, "invalid_field", "purpose"),
        ({"mobile": ME}, 400, "missing_field", "purpose"),
        ({"mobile": ME, "purpose": "activation", "national_id": "1234567890"}, 400,
         "invalid_national_id", "national_id"),
        ({"mobile": ME, "purpose": "activation", "channel": "fax"}, 400, "invalid_field",
         "channel"),
        ({"mobile": ME, "purpose": "activation", "channel": "voice"}, 400,
         "channel_unavailable", "channel"),
        ({"mobile": ME, "purpose": "activation", "code": "1"}, 400, "unknown_field", "code"),
    ]  # fmt: skip
    for body, status, code, field in cases:
        got, answer = await call(client, "POST", SEND, auth, body)
        assert (got, answer["code"], answer.get("field")) == (status, code, field), body
    got, answer = await call(client, "POST", check_path("vf_x"), auth, {"code": ""})
    assert (got, answer["code"], answer["field"]) == (400, "invalid_field", "code")
    notify_only = await bearer(client, "notify")
    got, answer = await call(client, "POST", SEND, notify_only, {"mobile": ME, "purpose": "x"})
    assert (got, answer["code"]) == (403, "forbidden")
    assert await sms(client) == []


async def test_callers_cannot_send_the_verification_texts_themselves(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    auth = await bearer(client, "notify")
    status, answer = await call(
        client,
        "POST",
        "/v1/notifications",
        auth,
        {"recipient": ME, "template": "verify_delete_unit", "params": {"code": "123456"}},
    )
    assert (status, answer["code"], answer["field"]) == (400, "unknown_template", "template")


async def test_metrics_count_each_purpose_by_outcome(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    approved_id, code = await started(client, auth, purpose="activation")
    await check(client, auth, approved_id, code)
    spent_id, code = await started(client, auth, purpose="delete_unit")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        await check(client, auth, spent_id, wrong)
    await started(client, auth, purpose="password_recovery")
    clock.advance(600)
    async with client.get("/metrics") as resp:
        text = await resp.text()
    counted = {
        (sample.labels["purpose"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "dargah_verifications_total"
    }
    for purpose, outcome, n in [
        ("activation", "sent", 1), ("activation", "approved", 1),
        ("delete_unit", "sent", 1), ("delete_unit", "spent", 1),
        ("password_recovery", "sent", 1), ("password_recovery", "expired", 1),
        ("activation", "expired", 0),
    ]:  # fmt: skip
        assert counted[(purpose, outcome)] == n, (purpose, outcome)


async def test_two_requests_at_once_send_one_code(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    answers = await asyncio.gather(*(send(client, auth, purpose="activation") for _ in range(4)))
    assert sorted(status for status, _ in answers) == [201, 429, 429, 429]
    assert len(await sms(client, ME)) == 1


async def test_two_checks_of_the_right_code_at_once_approve_once(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    verification_id, code = await started(client, auth, purpose="activation")
    answers = await asyncio.gather(*(check(client, auth, verification_id, code) for _ in range(4)))
    assert sorted(a["status"] for a in answers) == ["approved", "spent", "spent", "spent"]


def test_verification_settings_name_known_purposes() -> None:
    settings = Settings(
        kavenegar_verify_templates="activation=dargah-activation, delete_unit = dargah-delete",
        verify_resend_s='{"*": 90, "delete_unit": 60}',
        _env_file=None,
    )
    assert settings.kavenegar_verify_templates == {
        "activation": "dargah-activation",
        "delete_unit": "dargah-delete",
    }
    assert settings.verify_resend_s == {"*": 90, "delete_unit": 60}
    account = settings.provider_config().accounts["kavenegar"]
    assert account.verify_templates["activation"] == "dargah-activation"
    for bad in (
        {"smsir_verify_templates": "lunch=1"},
        {"verify_resend_s": "activation=soon"},
        {"kavenegar_verify_templates": "activation"},
        {"kavenegar_verify_templates": "*=dargah-any"},
    ):
        with pytest.raises(ValidationError):
            Settings.model_validate(bad)


async def test_a_default_resend_interval_for_every_purpose(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway(verify_resend_s="*=30")
    auth = await bearer(client, "verify")
    await started(client, auth, purpose="password_recovery")
    clock.advance(29)
    status, refused = await send(client, auth, purpose="password_recovery")
    assert (status, refused["retry_after"]) == (429, 1)


def test_a_code_hash_survives_a_seal_key_rotation() -> None:
    old, new = new_seal_key(), new_seal_key()
    stored = Sealer([old]).digest("vf_1\x1f\x1f482913")
    assert Sealer([new, old]).digest_matches("vf_1\x1f\x1f482913", stored)
    assert not Sealer([new, old]).digest_matches("vf_1\x1f\x1f482914", stored)
    assert not Sealer([new]).digest_matches("vf_1\x1f\x1f482913", stored)  # the key is the secret


async def test_a_verification_checks_after_a_restart_with_a_rotated_key(
    gateway: GatewayFactory,
) -> None:
    old, new = new_seal_key(), new_seal_key()
    client = await gateway(seal_key=old)
    auth = await bearer(client, "verify")
    verification_id, code = await started(client, auth, purpose="activation")
    await client.close()
    rotated = await gateway(seal_key=f"{new},{old}")
    assert (await check(rotated, auth, verification_id, code))["status"] == "approved"
