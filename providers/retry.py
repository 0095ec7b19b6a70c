"""The retry policy, one object for both places that retry.

In process, `retrying(config)` repeats a provider call a few times on RetryableError only, which
proves that nothing was sent; an account, permanent or unknown outcome goes straight to the caller
(an unknown one is never repeated blind). Across restarts the
durable outbox schedules a message's next try with `next_attempt_delay`, the same curve: exponential
backoff with full jitter (a uniform draw below the exponential ceiling), capped at `retry_cap_s`,
so a provider coming back from an outage is not hit by every gateway at the same instant.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from providers.base import RetryableError
from providers.config import RetryConfig


def backoff_ceiling(attempt: int, base: float, cap: float) -> float:
    """The upper bound of the wait after failed attempt number `attempt` (1-based)."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    # min() before the power would overflow for large attempts; 2**60 is plenty.
    return min(cap, base * 2.0 ** min(attempt - 1, 60))


def next_attempt_delay(
    attempt: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based).

    Uniform in [0, min(cap, base·2^(attempt-1))]: full jitter.
    """
    draw = (rng or random).uniform(0.0, 1.0)
    return draw * backoff_ceiling(attempt, base, cap)


def retrying(
    config: RetryConfig,
    *,
    attempts: int | None = None,
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncRetrying:
    """A tenacity policy: `async for attempt in retrying(s): with attempt: await provider.send(…)`.

    The last RetryableError is re-raised as itself when the attempts run out.
    """
    count = attempts if attempts is not None else config.in_process
    base, cap = config.base_s, config.cap_s

    def wait(state: RetryCallState) -> float:
        return next_attempt_delay(state.attempt_number, base, cap, rng)

    kwargs: dict[str, Any] = {}
    if sleep is not None:
        kwargs["sleep"] = sleep
    return AsyncRetrying(
        retry=retry_if_exception_type(RetryableError),
        stop=stop_after_attempt(count),
        wait=wait,
        reraise=True,
        **kwargs,
    )
