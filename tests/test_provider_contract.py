"""The contract, the console provider, the registry, the retry policy and the token bucket."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from gateway.settings import Settings
from providers.base import (
    AccountError,
    AmbiguousError,
    DeliveryState,
    OtpParams,
    OutgoingSms,
    PermanentError,
    Provider,
    ProviderError,
    RetryableError,
    make_error,
    safe_preview,
)
from providers.console import ConsoleProvider
from providers.kavenegar import KavenegarProvider
from providers.ratelimit import TokenBucket
from providers.registry import PROVIDERS, build_provider
from providers.retry import backoff_ceiling, next_attempt_delay, retrying
from providers.smsir import SmsIrProvider


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)


async def run(policy: Any, step: Callable[[], None]) -> None:
    """Runs `step` under a tenacity policy, the way the dispatcher will."""
    async for attempt in policy:
        with attempt:
            step()


# --- contract ---------------------------------------------------------------------------------


def test_errors_carry_their_kind_and_a_masked_reason() -> None:
    err = make_error("account", "418", "send to 09121234567 failed, password=Ab3xYz9q", "kave")
    assert isinstance(err, AccountError)
    assert err.kind == "account"
    assert "09121234567" not in str(err)
    assert "Ab3xYz9q" not in str(err)
    assert "0912***4567" in err.reason
    assert RetryableError("x", "y").kind == "retryable"
    assert PermanentError("x", "y").kind == "permanent"
    assert isinstance(RetryableError("x", "y"), ProviderError)


def test_reprs_hide_numbers_and_codes() -> None:
    msg = OutgoingSms("out-1", "09121234567", "رمز Ab3xYz9q", OtpParams("t", "482193"))
    assert "09121234567" not in repr(msg)
    assert "482193" not in repr(msg)
    assert "Ab3xYz9q" not in repr(msg)
    assert OtpParams("t", "1", token3="3").tokens() == {"token": "1", "token3": "3"}


def test_safe_preview_hides_every_word_with_a_digit() -> None:
    text = "کاربر گرامی کد رهگیری ۱۲۳۴۵۶۷۸ رمز Ab3xYz9q کد 4821"
    assert safe_preview(text) == "کاربر گرامی کد رهگیری *** رمز *** کد ***"


# --- console ----------------------------------------------------------------------------------


async def test_console_keeps_and_logs_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    console = ConsoleProvider()
    assert isinstance(console, Provider)
    otp = OutgoingSms("out-2", "09121234567", "کد 4821", OtpParams("reset", "4821"))
    results = await console.send([OutgoingSms("out-1", "09351234567", "رمز Ab3xYz9q"), otp])
    again = await console.send([otp])
    assert [m.local_id for m in console.sent] == ["out-1", "out-2"]
    assert again[0].provider_message_id == results[1].provider_message_id
    assert all(r.state is DeliveryState.SENT for r in results)
    for secret in ("09121234567", "09351234567", "4821", "Ab3xYz9q"):
        assert secret not in caplog.text
    assert "[template reset]" in caplog.text
    ids = [r.provider_message_id or "" for r in results]
    reports = await console.query_status([*ids, "nope"])
    assert [r.state for r in reports] == [
        DeliveryState.DELIVERED, DeliveryState.DELIVERED, DeliveryState.UNKNOWN,
    ]  # fmt: skip
    assert await console.account_ok()


# --- registry ---------------------------------------------------------------------------------


async def test_registry_builds_each_provider(session: aiohttp.ClientSession) -> None:
    assert set(PROVIDERS) == {"console", "kavenegar", "smsir"}
    s = settings(
        kavenegar_api_key=SecretStr("k"), kavenegar_sender="1000",
        smsir_api_key=SecretStr("s"), smsir_sender="3000",
    )  # fmt: skip
    assert isinstance(build_provider("console", s.provider_config(), session), ConsoleProvider)
    assert isinstance(build_provider("kavenegar", s.provider_config(), session), KavenegarProvider)
    assert isinstance(build_provider("smsir", s.provider_config(), session), SmsIrProvider)
    for name in PROVIDERS:
        assert isinstance(build_provider(name, s.provider_config(), session), Provider)


async def test_registry_refuses_unknown_and_unconfigured(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError, match="unknown SMS provider 'nope'"):
        build_provider("nope", settings().provider_config(), session)
    with pytest.raises(ValueError, match="GATEWAY_KAVENEGAR_API_KEY"):
        build_provider("kavenegar", settings().provider_config(), session)
    with pytest.raises(ValueError, match="GATEWAY_SMSIR_API_KEY"):
        build_provider("smsir", settings().provider_config(), session)


# --- retry policy -----------------------------------------------------------------------------


def test_delay_is_full_jitter_under_a_capped_exponential() -> None:
    assert [backoff_ceiling(a, 2.0, 300.0) for a in (1, 2, 3, 8, 9, 500)] == [
        2.0, 4.0, 8.0, 256.0, 300.0, 300.0,
    ]  # fmt: skip
    rng = random.Random(7)
    for attempt in range(1, 40):
        delay = next_attempt_delay(attempt, 2.0, 300.0, rng)
        assert 0.0 <= delay <= backoff_ceiling(attempt, 2.0, 300.0) <= 300.0
    # Jitter: the same attempt spreads over its window instead of landing on one instant.
    draws = {round(next_attempt_delay(5, 2.0, 300.0, rng), 3) for _ in range(50)}
    assert len(draws) > 40
    with pytest.raises(ValueError, match="attempt"):
        next_attempt_delay(0, 2.0, 300.0)


async def test_retrying_retries_only_retryable_and_respects_the_cap() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    s = settings(retry_base_s=10.0, retry_cap_s=15.0).dispatch_config().retry
    calls: list[ProviderError] = []

    def failing(error: ProviderError, times: int = 99) -> Callable[[], None]:
        def step() -> None:
            if len(calls) < times:
                calls.append(error)
                raise error

        return step

    policy = retrying(s, attempts=4, sleep=sleep, rng=random.Random(1))
    with pytest.raises(RetryableError):
        await run(policy, failing(RetryableError("timeout", "slow")))
    assert len(calls) == 4
    assert len(waits) == 3
    assert all(0 <= w <= 15.0 for w in waits)

    for error in (AccountError("418", "credit"), PermanentError("411", "receptor")):
        calls.clear()
        with pytest.raises(type(error)):
            await run(retrying(s, sleep=sleep), failing(error))
        assert len(calls) == 1

    calls.clear()
    await run(
        retrying(s, sleep=sleep),
        failing(RetryableError("503", "busy"), times=1),
    )
    assert len(calls) == 1


async def test_in_process_attempts_default_to_a_few() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    calls: list[int] = []

    def step() -> None:
        calls.append(1)
        raise RetryableError("timeout", "slow")

    with pytest.raises(RetryableError):
        await run(retrying(settings().dispatch_config().retry, sleep=sleep), step)
    assert len(calls) == 3
    calls.clear()

    def unknown() -> None:  # the request left and no answer came: never repeated here
        calls.append(1)
        raise AmbiguousError("timeout", "no answer in time")

    with pytest.raises(AmbiguousError):
        await run(retrying(settings().dispatch_config().retry, sleep=sleep), unknown)
    assert len(calls) == 1


# --- token bucket -----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_token_bucket_allows_a_burst_then_paces() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        assert await bucket.acquire() == 0.0
    assert await bucket.acquire() == pytest.approx(0.1)
    assert await bucket.acquire(20) == pytest.approx(2.0)  # larger than the burst: on credit
    assert clock.now == pytest.approx(102.1)
    clock.now += 10
    assert bucket.tokens == pytest.approx(5.0)  # refills up to the burst, no further


async def test_token_bucket_caps_the_real_rate() -> None:
    bucket = TokenBucket(rate=200, burst=1)
    start = time.monotonic()
    waited = [await bucket.acquire() for _ in range(5)]
    assert waited[0] == 0.0
    # Five tokens from a bucket of one at 200/s cannot take less than 4/200 s, however slow we are.
    assert time.monotonic() - start >= 4 / 200 - 0.002
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=0)


async def test_provider_send_goes_through_its_limiter() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1, burst=1, clock=clock, sleep=clock.sleep)
    async with aiohttp.ClientSession() as s:  # nothing listens on port 9: refused at once
        smsir = SmsIrProvider(s, "k", "3000", "http://127.0.0.1:9", 0.2, limiter=bucket)
        with pytest.raises(RetryableError):
            await smsir.send([OutgoingSms("a", "09121234567", "x")] * 3)
    assert clock.now == pytest.approx(102.0)
