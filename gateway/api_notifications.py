"""`GET /v1/notifications/{id}`: what became of an SMS, for the system that caused it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from gateway.appkeys import STORAGE
from gateway.web import edge
from gateway.web.auth import require_scope
from gateway.web.errors import ApiError
from sessions.masking import mask_msisdn
from sessions.ports import Notification

PublicStatus = Literal["queued", "sent", "delivered", "undelivered", "failed"]


class NotificationView(BaseModel):
    """One outbound SMS as the API shows it: the number masked, the text never."""

    id: str = Field(description="the 18-digit local id, also passed to the provider")
    recipient: str = Field(description="masked, like 0912***4567")
    template_id: str
    status: PublicStatus = Field(description="a message being handed over shows as queued")
    reason: str | None = Field(description="why it failed or is being retried")
    attempts: int
    provider: str | None
    created_at: datetime
    sent_at: datetime | None
    final_at: datetime | None


def _time(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts is not None else None


def view(n: Notification) -> NotificationView:
    return NotificationView(
        id=n.id,
        recipient=mask_msisdn(n.recipient),
        template_id=n.template_id,
        status="queued" if n.status == "sending" else n.status,
        reason=n.error,
        attempts=n.attempts,
        provider=n.provider,
        created_at=datetime.fromtimestamp(n.created_at, UTC),
        sent_at=_time(n.sent_at),
        final_at=_time(n.final_at),
    )


@require_scope("notify")
async def get_notification(request: web.Request) -> web.Response:
    message_id = request.match_info["id"]
    found = None
    if message_id.isdecimal() and message_id.isascii():
        found = await request.app[STORAGE].get_notification(message_id)
    if found is None:
        raise ApiError(404, "not_found", "no notification with this id")
    return web.json_response(view(found).model_dump(mode="json"))


def setup(app: web.Application) -> None:
    edge.add(app, "GET", "/v1/notifications/{id}", get_notification)
