"""A service that is announced in the menu but not open yet."""

from __future__ import annotations

from sessions.engine import Action, Ctx, Outcome
from sessions.screens import Screen, T

COMING_SOON = T(
    "این خدمت به‌زودی فعال می‌شود. سپاس از شکیبایی شما.", "This service is coming soon. Thank you."
)


async def coming_soon(ctx: Ctx) -> Outcome:
    return Screen(body=(COMING_SOON,), end=True)


SOON = Action(coming_soon)
