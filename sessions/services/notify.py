"""Notifications requested by other systems: one template, up to 1,000 recipients, optional
schedule and priority; an invalid number is rejected alone while the others go ahead."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sessions.records import PRIORITY_OTP, OutboundSms, Outcome, Result
from sessions.services.deps import Deps, make_sms
from sessions.validators import InvalidInput, allocated_mobile, mobile

MAX_RECIPIENTS = 1000


@dataclass(frozen=True, slots=True)
class Request:
    recipients: Sequence[str]
    template_id: str
    params: Mapping[str, Any]
    lang: str = "fa"
    due_at: float | None = None
    priority: int | None = None
    callback_url: str | None = None
    source: str = ""

    def fingerprint(self) -> str:
        """What makes two requests "the same" for an idempotency key."""
        body = {
            "recipients": list(self.recipients),
            "template": self.template_id,
            "params": {k: str(v) for k, v in self.params.items()},
            "lang": self.lang,
            "due_at": self.due_at,
            "priority": self.priority,
            "callback_url": self.callback_url,
        }
        raw = json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(raw).hexdigest()


def build(deps: Deps, request: Request) -> list[tuple[str, OutboundSms | Outcome]]:
    """One entry per recipient, in the request's order: a rendered message (a template error
    raises before anything is written), or the rejection of an invalid or repeated number."""
    entries: list[tuple[str, OutboundSms | Outcome]] = []
    seen: set[str] = set()
    for raw in request.recipients:
        try:
            number = allocated_mobile(mobile(raw), deps.policy.extra_mobile_prefixes)
        except InvalidInput as exc:
            entries.append((raw, Outcome(raw, code=exc.code, reason=str(exc))))
            continue
        if number in seen:
            entries.append((raw, Outcome(raw, code="duplicate_recipient", reason="listed twice")))
            continue
        seen.add(number)
        sms = make_sms(
            deps,
            number,
            request.template_id,
            request.params,
            lang=request.lang,
            source=request.source,
            due_at=request.due_at,
            callback_url=request.callback_url,
        )
        # A code stays a code: its priority (and with it the redaction of its text once sent,
        # which the outbox keys on priority 0) is not the caller's to lower.
        if request.priority is not None and sms.priority != PRIORITY_OTP:
            sms.priority = request.priority
        entries.append((raw, sms))
    return entries


async def send(deps: Deps, request: Request, idempotency_key: str | None) -> Result | None:
    """Enqueues the request; None when the idempotency key was used for a different request."""
    template = deps.templates.get(request.template_id)
    return await deps.store.enqueue_notifications(
        build(deps, request),
        resend_after_s=template.resend_after_s or 0,
        idempotency=(idempotency_key, request.fingerprint()) if idempotency_key else None,
        now=deps.clock(),
    )
