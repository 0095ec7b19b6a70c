"""What a service needs: the storage, the SMS templates, the clock, and the policy numbers."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sessions.ports import Storage
from sessions.records import OutboundSms
from templates_sms import TemplateRegistry

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Found(Generic[R]):
    """A lookup's outcome. `record` is None both when nothing exists and when it belongs to
    another number: the caller can never tell those apart. `limited`: too many lookups."""

    record: R | None = None
    limited: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    reset_ttl_s: int = 24 * 3600
    reset_max_attempts: int = 5
    resets_per_national_id_per_day: int = 3
    resets_per_number_per_hour: int = 5
    # National-ID probing: lookups of someone's records per calling number.
    lookups_per_number_per_hour: int = 30
    # Password guessing: verifications per national ID (across all its resets) and per API key.
    verifications_per_national_id_per_hour: int = 10
    verifications_per_key_per_minute: int = 120
    max_open_complaints: int = 3
    loans_listed: int = 9  # one keypad digit each
    # SMS answers to one number: bounds the cost of junk, and ends a loop with an auto-responder.
    sms_answers_per_number_per_hour: int = 10


@dataclass(frozen=True, slots=True)
class Deps:
    store: Storage
    templates: TemplateRegistry
    clock: Callable[[], float]
    policy: Policy = field(default_factory=Policy)


def new_message_id() -> str:
    """An 18-digit local id: unguessable, and numeric as provider local ids expect."""
    return str(10**17 + secrets.randbelow(9 * 10**17))


def make_sms(
    deps: Deps,
    recipient: str,
    template_id: str,
    params: Mapping[str, Any],
    *,
    lang: str = "fa",
    source: str = "",
    due_at: float | None = None,
    callback_url: str | None = None,
) -> OutboundSms:
    """Renders now (a bad parameter fails the caller, not the dispatcher) and sets the priority."""
    body = deps.templates.render(template_id, lang, params)
    now = deps.clock()
    return OutboundSms(
        id=new_message_id(),
        recipient=recipient,
        template_id=template_id,
        lang=lang,
        params={k: _plain(v) for k, v in params.items() if k not in SECRET_PARAMS},
        body=body,
        priority=deps.templates.get(template_id).priority,
        due_at=due_at if due_at is not None else now,
        source=source,
        callback_url=callback_url,
        created_at=now,
    )


# Never kept beside the message: the rendered body is all the dispatcher needs.
SECRET_PARAMS = frozenset({"password", "code", "token"})


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)
