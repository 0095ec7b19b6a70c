"""USSD sessions end to end over HTTP: navigation, paging, retries, expiry, resumption."""

from __future__ import annotations

import asyncio
from dataclasses import fields

from sessions.state import State
from tests.conftest import FakeClock, GatewayFactory
from tests.phone import Phone, is_end, screen
from tests.probe_flow import WITH_PROBE


async def test_persian_digits_choose_like_ascii(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    await phone.dial()
    reply = await phone.send("۵")
    assert "منوی آزمون" in reply
    reply = await phone.send("٢")  # Arabic-Indic two
    assert "بند شماره ۱" in reply or "بند شماره 1" in reply


async def test_star_typed_inside_an_input_is_kept(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    await phone.dial()
    await phone.send("5")
    await phone.send("1")
    reply = await phone.send("12*34*5")
    assert "نوشتید: 12*34*5" in screen(reply)


async def test_back_and_home_walk(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    home = await phone.dial()
    menu = await phone.send("5")
    prompt = await phone.send("1")
    assert "متن را وارد کنید" in prompt
    assert "۰ بازگشت ۰۰ خانه" in prompt
    assert await phone.send("0") == menu
    assert "متن را وارد کنید" in await phone.send("1")
    assert await phone.send("00") == home
    assert await phone.send("0") == home  # nothing behind the main menu


async def test_long_screen_is_split_into_pages_never_cut(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    await phone.dial()
    await phone.send("5")
    pages = [await phone.send("2")]
    while "۹۸ بیشتر" in pages[-1]:
        pages.append(await phone.send("98"))
    assert len(pages) >= 3
    for page in pages:
        assert page.startswith("CON ")
        assert len(screen(page)) <= 80
    shown = "\n".join(screen(p) for p in pages)
    for i in range(1, 9):
        assert f"بند شماره {i} از یک فهرست بلند برای آزمون صفحه‌بندی" in shown
    assert "۱ انتخاب" in pages[-1]
    assert await phone.send("0") == pages[-2]  # back pages back first
    assert is_end(await phone.send("1"))  # an option on another page still works


async def test_operator_retry_gets_same_screen_and_changes_nothing(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    await phone.dial()
    await phone.send("5")
    first = await phone.send("1")
    assert await phone.repeat() == first
    reply = await phone.send("hello")
    assert "نوشتید: hello" in reply


async def test_concurrent_retries_are_serialised(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    await phone.dial()
    await phone.send("5")
    phone.history.append("1")
    replies = await asyncio.gather(*(phone.repeat() for _ in range(5)))
    assert len(set(replies)) == 1
    assert "متن را وارد کنید" in replies[0]


async def test_expired_session_ends_politely(gateway: GatewayFactory, clock: FakeClock) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    await phone.dial()
    await phone.send("5")
    clock.advance(181)
    reply = await phone.send("1")
    assert is_end(reply)
    assert "نشست شما به پایان رسید" in reply


async def test_cut_off_session_resumes_within_five_minutes(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    await phone.dial()
    await phone.send("5")
    prompt = await phone.send("1")
    clock.advance(200)  # the operator dropped the session
    offer = await phone.dial()
    assert "ادامه می‌دهید" in offer
    assert await phone.send("1") == prompt
    reply = await phone.send("resumed")
    assert "نوشتید: resumed" in reply
    assert is_end(await phone.send("1"))
    # a finished session is never offered again: the next dial starts at the main menu
    clock.advance(10)
    assert "۱ پیگیری ثبت‌نام" in await phone.dial()


async def test_resume_declined_goes_home_and_late_dial_starts_fresh(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    await phone.dial()
    await phone.send("5")
    await phone.send("1")
    offer = await phone.dial()
    assert "ادامه می‌دهید" in offer
    assert "۱ پیگیری ثبت‌نام" in await phone.send("2")
    await phone.send("5")
    await phone.send("1")
    clock.advance(301)
    assert "۱ پیگیری ثبت‌نام" in await phone.dial()


async def test_no_resume_offer_to_another_number(gateway: GatewayFactory) -> None:
    client = await gateway(WITH_PROBE)
    mine = Phone(client)
    await mine.dial()
    await mine.send("5")
    await mine.send("1")
    other = Phone(client, msisdn="+989351112233")
    assert "۱ پیگیری ثبت‌نام" in await other.dial()


async def test_session_id_reused_by_another_number_is_refused(gateway: GatewayFactory) -> None:
    client = await gateway(WITH_PROBE)
    mine = Phone(client)
    await mine.dial()
    other = Phone(client, msisdn="+989351112233")
    other.session_id = mine.session_id
    other.history = ["5"]
    reply = await other._hop()
    assert is_end(reply)
    assert "نشست نامعتبر" in reply
    assert "منوی آزمون" in await mine.send("5")


async def test_english_session_stays_english(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    await phone.dial()
    menu = await phone.send("9")
    assert "1 Registration status" in menu
    assert "Probe menu" in await phone.send("5")
    prompt = await phone.send("1")
    assert "Enter text:" in prompt
    assert "0 Back 00 Home" in prompt


async def test_invalid_answers_three_times_end_the_session(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    await phone.dial()
    await phone.send("5")
    await phone.send("1")
    assert "متن خالی است" in await phone.send(" ")
    assert not is_end(await phone.send("\u200c"))
    assert is_end(await phone.send("ـ"))  # kashida alone normalises to nothing


async def test_invalid_menu_choice_says_so(gateway: GatewayFactory) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    await phone.dial()
    await phone.send("5")
    reply = await phone.send("7")
    assert "گزینه نامعتبر است" in reply
    assert "۱ نوشتن متن" in reply


def test_state_survives_its_round_trip_through_storage() -> None:
    state = State(node="x", lang="en", data={"a": "1"}, stack=["home"], pages=["p"], page=0,
                  tries=2, ending=True, saved={"node": "y"})  # fmt: skip
    assert {f.name for f in fields(State)} == set(state.to_dict())  # no field forgotten
    assert State.from_dict(state.to_dict()) == state


async def test_cut_off_again_at_the_resume_offer_still_resumes(
    gateway: GatewayFactory, clock: FakeClock
) -> None:
    phone = Phone(await gateway(WITH_PROBE))
    await phone.dial()
    await phone.send("5")
    prompt = await phone.send("1")
    clock.advance(200)
    assert "ادامه می‌دهید" in await phone.dial()  # offered, then cut off again unanswered
    clock.advance(30)
    assert "ادامه می‌دهید" in await phone.dial()
    assert await phone.send("1") == prompt


async def test_a_late_retry_of_an_earlier_hop_changes_nothing(gateway: GatewayFactory) -> None:
    client = await gateway(WITH_PROBE)
    base = {"session_id": "late-1", "msisdn": "09121234567"}

    async def hop(n: int, text: str) -> dict[str, object]:
        body = {**base, "hop": n, "text": text, "event": "new" if n == 0 else "continue"}
        answer: dict[str, object] = await (await client.post("/ussd/json", json=body)).json()
        return answer

    await hop(0, "")
    await hop(1, "5")
    prompt = await hop(2, "1")
    late = await hop(1, "5")  # the operator's late retry of hop 1: the current screen again
    assert (late["text"], late["end"]) == (prompt["text"], prompt["end"])
    assert "نوشتید: hello" in str((await hop(3, "hello"))["text"])
    phone = Phone(client)
    await phone.dial()
    await phone.send("5")
    current = await phone.send("1")
    phone.history = ["5"]  # Africa's Talking resends an older history
    assert await phone.repeat() == current
