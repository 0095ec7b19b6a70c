"""`/v1/verifications` attacked as an outsider would: many checks at once, codes typed every way a
phone can type them, the boundary of expiry, another client's key and number, a flood of sends
from one key."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.settings import Settings
from sessions.records import Verification
from tests.api_helpers import Client, bearer, call, sms, storage
from tests.conftest import FakeClock, GatewayFactory

ME = "09121234567"
NID = "0012345679"
SEND = "/v1/verifications"
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
ZWNJ, RLM, LRM, NBSP = "\u200c", "\u200f", "\u200e", "\u00a0"


async def start(
    client: Client, auth: dict[str, str], mobile: str = ME, **body: Any
) -> tuple[str, str]:
    """A new verification's id and the code its SMS carries."""
    status, answer = await call(
        client, "POST", SEND, auth, {"mobile": mobile, "purpose": "activation", **body}
    )
    assert status == 201, answer
    found = await storage(client).get_verification(answer["id"])
    assert found is not None
    [message] = [m for m in await sms(client, mobile) if m["id"] == found.message_id]
    return answer["id"], message["code"]


async def check(
    client: Client, auth: dict[str, str], verification_id: str, code: str, **extra: Any
) -> dict[str, Any]:
    status, answer = await call(
        client, "POST", f"{SEND}/{verification_id}/check", auth, {"code": code, **extra}
    )
    assert status == 200, answer
    result: dict[str, Any] = answer
    return result


def slow_reads(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """A verification's read takes a while, as on a loaded machine: every check at once reads
    it before any of them writes."""
    store = storage(client)
    real = store.get_verification

    async def read(verification_id: str) -> Verification | None:
        found = await real(verification_id)
        await asyncio.sleep(0.05)
        return found

    monkeypatch.setattr(store, "get_verification", read)


def wrong(code: str, n: int = 1) -> str:
    """A code that is not `code` (the n-th such)."""
    return f"{(int(code) + n) % 10 ** len(code):0{len(code)}d}"


# --- tries ------------------------------------------------------------------------------------


async def test_wrong_codes_at_once_are_compared_at_most_five_times(
    gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each try is counted before its code is compared: of twenty wrong codes sent together,
    five are compared (and answered `wrong_code`), the others find the verification spent."""
    client = await gateway()
    auth = await bearer(client, "verify")
    verification_id, code = await start(client, auth)
    slow_reads(client, monkeypatch)
    answers = await asyncio.gather(
        *(check(client, auth, verification_id, wrong(code, n)) for n in range(1, 21))
    )
    assert Counter(a["status"] for a in answers) == {"wrong_code": 5, "spent": 15}
    found = await storage(client).get_verification(verification_id)
    assert found is not None
    assert (found.status, found.attempts) == ("spent", 5)
    assert (await check(client, auth, verification_id, code))["status"] == "spent"


async def test_the_right_code_among_many_at_once_wins_only_on_a_counted_try(
    gateway: GatewayFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nineteen wrong codes and the right one, together: at most five tries are compared, and
    the right code is approved only when its try was one of them."""
    client = await gateway()
    auth = await bearer(client, "verify")
    verification_id, code = await start(client, auth)
    slow_reads(client, monkeypatch)
    guesses = [wrong(code, n) for n in range(1, 20)] + [code]
    answers = await asyncio.gather(*(check(client, auth, verification_id, g) for g in guesses))
    counted = Counter(a["status"] for a in answers)
    assert counted["wrong_code"] + counted["approved"] == 5, counted
    found = await storage(client).get_verification(verification_id)
    assert found is not None
    assert found.attempts == 5
    assert found.status == ("approved" if counted["approved"] else "spent")


async def test_a_right_code_on_the_last_counted_try_is_approved(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    verification_id, code = await start(client, auth)
    for n in range(1, 5):
        assert (await check(client, auth, verification_id, wrong(code, n)))[
            "status"
        ] == "wrong_code"
    assert (await check(client, auth, verification_id, code))["status"] == "approved"
    assert (await check(client, auth, verification_id, code))["status"] == "spent"


async def test_a_check_after_spent_counts_nothing_and_says_spent(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    verification_id, code = await start(client, auth)
    assert (await check(client, auth, verification_id, code))["status"] == "approved"
    for guess in (code, wrong(code)):
        assert (await check(client, auth, verification_id, guess))["status"] == "spent"
    found = await storage(client).get_verification(verification_id)
    assert found is not None
    assert (found.status, found.attempts) == ("approved", 1)


# --- expiry -----------------------------------------------------------------------------------


async def test_expiry_at_the_boundary(gateway: GatewayFactory, clock: FakeClock) -> None:
    """A code is good up to its last instant before `expires_at`, and expired from it on: the
    check, the answer's `expires_at` and the outbox's validity agree."""
    client = await gateway()
    auth = await bearer(client, "verify")
    status, answer = await call(client, "POST", SEND, auth, {"mobile": ME, "purpose": "activation"})
    assert status == 201
    found = await storage(client).get_verification(answer["id"])
    assert found is not None
    [message] = await sms(client, ME)
    assert found.expires_at == message["expires_at"] == clock.now + 600
    clock.advance(600 - 0.001)
    other_id, other_code = await start(client, await bearer(client, "verify", name="b"))
    assert (await check(client, auth, answer["id"], message["code"]))["status"] == "approved"
    clock.advance(600)
    expired = await check(client, await bearer(client, "verify", name="b"), other_id, other_code)
    assert expired["status"] == "expired"
    found = await storage(client).get_verification(other_id)
    assert found is not None
    assert found.attempts == 0  # a try on an expired code is not counted


async def test_a_wrong_code_after_expiry_says_expired(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    verification_id, code = await start(client, auth)
    clock.advance(600)
    assert (await check(client, auth, verification_id, wrong(code)))["status"] == "expired"


# --- codes as phones type them ----------------------------------------------------------------


async def test_codes_typed_every_way_a_phone_types_them(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    typed: list[Callable[[str], str]] = [
        lambda c: c.translate(PERSIAN),
        lambda c: c.translate(ARABIC_INDIC),
        lambda c: f"{c[:3]} {c[3:]}",
        lambda c: f" {c[:3]}{NBSP}{c[3:]}\n",
        lambda c: f"{c[:3].translate(PERSIAN)}{ZWNJ}{c[3:].translate(PERSIAN)}",
        lambda c: RLM + c.translate(PERSIAN) + LRM,
        lambda c: " ".join(RLM + d for d in c.translate(ARABIC_INDIC)),  # 24 characters
        lambda c: f"{c[:3]}-{c[3:]}",
    ]
    for i, form in enumerate(typed):
        verification_id, code = await start(client, auth, mobile=f"0912123{i:04d}")
        assert (await check(client, auth, verification_id, form(code)))["status"] == "approved", i


async def test_a_code_with_no_digit_is_a_400_and_counts_nothing(gateway: GatewayFactory) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    verification_id, code = await start(client, auth)
    for blank in (" ", ZWNJ + RLM, "\u2067\u2069"):
        status, answer = await call(
            client, "POST", f"{SEND}/{verification_id}/check", auth, {"code": blank}
        )
        assert (status, answer["code"], answer["field"]) == (400, "invalid_field", "code")
    found = await storage(client).get_verification(verification_id)
    assert found is not None
    assert found.attempts == 0
    assert (await check(client, auth, verification_id, code))["status"] == "approved"


async def test_a_national_id_binding_in_every_digit_script(gateway: GatewayFactory) -> None:
    """The ID bound at the send and the one given at the check compare as digits, whatever
    script or marks each was typed in; another ID, in any script, is a wrong code."""
    client = await gateway()
    auth = await bearer(client, "verify")
    other = "0013542419"
    verification_id, code = await start(
        client, auth, purpose="password_recovery", national_id=RLM + NID.translate(ARABIC_INDIC)
    )
    for given in (
        other.translate(PERSIAN),
        other.translate(ARABIC_INDIC),
        f"{other[:3]}-{other[3:]}",
    ):
        assert (await check(client, auth, verification_id, code, national_id=given))[
            "status"
        ] == "wrong_code"
    spaced = f"{NID[:3]} {NID[3:]}".translate(PERSIAN)
    approved = await check(client, auth, verification_id, code, national_id=spaced)
    assert approved["status"] == "approved"


# --- another client ---------------------------------------------------------------------------


async def test_another_clients_key_answers_as_a_wrong_code_and_counts_nothing(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    owner = await bearer(client, "verify")
    stranger = await bearer(client, "verify", name="another-portal")
    verification_id, code = await start(client, owner)
    bodies = []
    for guess in (code, wrong(code), code.translate(PERSIAN)):
        async with client.post(
            f"{SEND}/{verification_id}/check", json={"code": guess}, headers=stranger
        ) as resp:
            bodies.append((resp.status, resp.content_type, await resp.read()))
    async with client.post(
        f"{SEND}/{verification_id}/check", json={"code": wrong(code, 2)}, headers=owner
    ) as resp:
        owners_wrong = (resp.status, resp.content_type, await resp.read())
    assert bodies == [owners_wrong] * 3  # byte for byte
    found = await storage(client).get_verification(verification_id)
    assert found is not None
    assert found.attempts == 1  # the owner's one wrong try, none of the stranger's
    assert (await check(client, owner, verification_id, code))["status"] == "approved"


# --- one client's codes, another client's number --------------------------------------------


async def test_another_clients_code_does_not_hold_mine(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    """Two portals may each confirm the same mobile: one's resend interval and caps do not
    block the other's codes, and one's new code does not void the other's."""
    client = await gateway(verify_ttl_s=3600)
    asnaf = await bearer(client, "verify", name="asnaf")
    other = await bearer(client, "verify", name="another-portal")
    mine, my_code = await start(client, asnaf)
    theirs, their_code = await start(client, other)  # inside my 120 s: theirs goes all the same
    for _ in range(4):
        clock.advance(121)
        await start(client, other)
    clock.advance(121)
    status, refused = await call(
        client, "POST", SEND, other, {"mobile": ME, "purpose": "activation"}
    )
    assert (status, refused["code"]) == (429, "rate_limited")  # their five an hour are spent
    status, _ = await call(client, "POST", SEND, asnaf, {"mobile": ME, "purpose": "delete_unit"})
    assert status == 201  # mine are not
    assert (await check(client, other, theirs, their_code))["status"] == "spent"  # voided: theirs
    assert (await check(client, asnaf, mine, my_code))["status"] == "approved"


async def test_one_key_cannot_flood(gateway: GatewayFactory, clock: FakeClock) -> None:
    client = await gateway(verify_sends_per_key_per_minute=3)
    auth = await bearer(client, "verify")
    clock.advance(-(clock.now % 60))  # at the start of a minute
    for i in range(3):
        await start(client, auth, mobile=f"0912123{i:04d}")
    clock.advance(20)
    status, refused = await call(
        client, "POST", SEND, auth, {"mobile": "09121239999", "purpose": "activation"}
    )
    assert (status, refused["code"], refused["retry_after"]) == (429, "rate_limited", 40)
    assert len(await sms(client, "09121239999")) == 0
    other_key = await bearer(client, "verify")  # the same client's other key has its own
    await start(client, other_key, mobile="09121239999")
    clock.advance(40)
    await start(client, auth, mobile="09121238888")


# --- settings that would quietly weaken the codes -------------------------------------------


def test_settings_that_would_quietly_change_how_codes_go_are_refused() -> None:
    """An sms.ir template id that is not a number would send every code as plain text, and a
    negative resend interval would let codes go without any wait: both refused at start."""
    for bad in (
        {"smsir_verify_templates": "activation=dargah-activation"},
        {"smsir_verify_templates": "activation=-1"},
        {"verify_resend_s": "activation=-5"},
        {"verify_resend_s": "*=90000"},
    ):
        with pytest.raises(ValidationError):
            Settings.model_validate(bad)
    ok = Settings.model_validate(
        {"smsir_verify_templates": "activation=100200", "verify_resend_s": "*=0,activation=60"}
    )
    assert ok.smsir_verify_templates == {"activation": "100200"}


async def test_hostile_checks_are_a_wrong_code_or_a_400_never_a_500(
    gateway: GatewayFactory,
) -> None:
    client = await gateway()
    auth = await bearer(client, "verify")
    wrong_code = {"status": "wrong_code", "valid": False}
    for path, body, raw, expected in [
        (f"{SEND}/vf_{'a' * 5000}/check", {"code": "123456"}, None, 200),
        (f"{SEND}/vf_%00%ff/check", {"code": "123456"}, None, 200),
        (f"{SEND}/vf_x/check", {"code": 123456}, None, 400),
        (f"{SEND}/vf_x/check", {"code": "1" * 65}, None, 400),
        (f"{SEND}/vf_x/check", None, b"[" * 5000 + b"]" * 5000, 400),
        (f"{SEND}/vf_x/check", None, b'{"code": "\\ud800"}', 400),
        (f"{SEND}/vf_x/check", {"code": "1", "national_id": "٠٠١٢٣٤٥٦٧٩"}, None, 200),
    ]:
        status, answer = await call(client, "POST", path, auth, body, raw=raw)
        assert status == expected, (path[:40], body, answer)
        if status == 200:
            assert answer == wrong_code
