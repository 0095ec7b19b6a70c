"""`/v1/notifications`: other systems ask for templated SMS to one or many numbers (POST) and read
what became of each (GET), scope `notify`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.api.common import answer, read_model, read_query
from gateway.api.fields import Mobile
from gateway.api.operations import Op
from gateway.api.paging import Paged, PageQuery, encode_cursor
from gateway.appkeys import DEPS, SETTINGS, STORAGE
from gateway.web import edge, outbound
from gateway.web.auth import API_KEY_NAME, require_scope
from gateway.web.errors import ApiError
from sessions.masking import mask_msisdn
from sessions.ports import Notification
from sessions.records import PRIORITY_BULK, PRIORITY_OTP, PRIORITY_TRANSACTIONAL, Result
from sessions.services import notify
from templates_sms import Template, TemplateError, parse_send_at
from templates_sms.placeholders import LinkPlaceholder, link_host

SCOPE = "notify"

# A single recipient's number that cannot be sent to is the request's bad field (a list keeps
# going without it, each refusal in its place).
REFUSED_NUMBER = frozenset({"invalid_mobile", "unallocated_mobile"})
PRIORITIES = {"high": PRIORITY_OTP, "normal": PRIORITY_TRANSACTIONAL, "low": PRIORITY_BULK}
MAX_SCHEDULE_S = 30 * 24 * 3600
IDEMPOTENCY_KEY_MAX = 128

Param = str | int | float | bool | None


class NotificationRequest(BaseModel):
    """One template for one recipient or a list of up to 1,000. Numbers may be written in any
    accepted form (09…, 9…, 989…, +989…, 00989…, Persian digits)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "recipients": ["09121234567", "+989351112233"],
                    "template": "activation_code",
                    "params": {"code": "482913"},
                    "send_at": "1404/08/30 14:00",
                    "priority": "high",
                }
            ]
        },
    )

    recipient: str | None = Field(default=None, max_length=32)
    recipients: list[str] | None = Field(
        default=None, min_length=1, max_length=notify.MAX_RECIPIENTS
    )
    template: str = Field(min_length=1, max_length=64, description="a template id")
    params: dict[str, Param] = Field(default_factory=dict, max_length=32)
    lang: Literal["fa", "en"] = "fa"
    send_at: str | None = Field(
        default=None,
        max_length=40,
        description="ISO 8601, or Jalali such as 1404/08/30 14:00 in Tehran time",
    )
    priority: Literal["high", "normal", "low"] | None = Field(
        default=None, description="defaults to the template's kind: codes high, notices normal"
    )
    callback_url: str | None = Field(
        default=None,
        max_length=2048,
        description="receives each message's final status (POST, signed with "
        "`X-Dargah-Signature`); https, and a public address unless the operator lists the host",
    )

    @field_validator("recipients")
    @classmethod
    def _short_numbers(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(len(v) > 32 for v in value):
            raise ValueError("a recipient is longer than 32 characters")
        return value

    @model_validator(mode="after")
    def _one_way_to_name_recipients(self) -> NotificationRequest:
        if (self.recipient is None) == (self.recipients is None):
            raise ValueError("give either recipient or recipients")
        return self


PublicStatus = Literal[
    "queued", "unknown", "sent", "delivered", "undelivered", "failed", "cancelled"
]


class NotificationView(BaseModel):
    """One outbound SMS as the API shows it: the number masked, the text never."""

    id: str = Field(description="the 18-digit local id, also passed to the provider")
    recipient: str = Field(description="masked, like 0912***4567")
    template_id: str
    status: PublicStatus = Field(
        description="a message being handed over shows as queued; `unknown`: handed over and "
        "no answer came yet (checked with the provider, never sent twice); `cancelled` by "
        "DELETE before it was handed over"
    )
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


@require_scope(SCOPE)
async def get_notification(request: web.Request) -> web.Response:
    """The caller's own message; another client's answers exactly as one that does not exist."""
    message_id = request.match_info["id"]
    found = None
    if message_id.isdecimal() and message_id.isascii():
        found = await request.app[STORAGE].get_notification(message_id, request[API_KEY_NAME])
    if found is None:
        raise ApiError(404, "not_found", "no notification with this id")
    return web.json_response(view(found).model_dump(mode="json"))


# A public status and the stored ones it stands for (a message being handed over shows queued).
_STORED: dict[str, tuple[str, ...]] = {
    "queued": ("queued", "sending"),
    **{s: (s,) for s in ("unknown", "sent", "delivered", "undelivered", "failed", "cancelled")},
}


class NotificationQuery(PageQuery):
    """The query of `GET /v1/notifications`: the caller's own messages, newest first."""

    recipient: Mobile | None = Field(None, description="Only messages to this number.")
    status: PublicStatus | None = Field(None, description="Only messages in this state.")
    template: str | None = Field(None, max_length=64, description="Only this template's.")


class NotificationPage(BaseModel):
    items: list[NotificationView]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


@require_scope(SCOPE)
async def list_notifications(request: web.Request) -> web.Response:
    query = read_query(request, NotificationQuery)
    window = query.window()
    rows = await request.app[STORAGE].find_notifications(
        request[API_KEY_NAME],
        recipient=query.recipient,
        statuses=_STORED[query.status] if query.status else (),
        template_id=query.template,
        since=window.since,
        until=window.until,
        after=window.after,
        limit=query.limit + 1,
    )
    page = Paged(rows, query.limit)
    last = page.items[-1] if page.more else None
    return answer(
        NotificationPage(
            items=[view(n) for n in page.items],
            next_cursor=encode_cursor(last.created_at, last.id) if last else None,
        )
    )


@require_scope(SCOPE)
async def cancel_notification(request: web.Request) -> web.Response:
    """A message not yet claimed by a dispatcher is cancelled; one claimed or handed over is not
    (409): it may already be with the provider, and a cancelled one must never go out."""
    message_id = request.match_info["id"]
    found = None
    if message_id.isdecimal() and message_id.isascii():
        found = await request.app[STORAGE].cancel_notification(
            message_id, request[API_KEY_NAME], request.app[DEPS].clock()
        )
    if found is None:
        raise ApiError(404, "not_found", "no notification with this id")
    if found.status != "cancelled":
        shown = view(found).status
        raise ApiError(
            409,
            "already_handed",
            f"the message is {shown}: it has been handed to a provider and cannot be cancelled",
            state=shown,
        )
    return web.json_response(view(found).model_dump(mode="json"))


class RecipientError(BaseModel):
    code: str = Field(
        description="invalid_mobile, unallocated_mobile (a prefix no network was given), "
        "duplicate_recipient or resend_too_soon"
    )
    message: str
    retry_after: int | None = Field(default=None, description="seconds, for resend_too_soon")


class NotificationAccepted(BaseModel):
    recipient: str = Field(description="as it was given in the request")
    id: str | None = Field(default=None, description="the notification id, when accepted")
    error: RecipientError | None = None


class NotificationBatch(BaseModel):
    notifications: list[NotificationAccepted]
    accepted: int
    rejected: int
    replayed: bool = Field(description="true when this answers a repeated Idempotency-Key")


async def _allowed_callback(url: str, listed: list[str]) -> None:
    """The gateway calls only where the operator allows (gateway/web/outbound.py)."""
    try:
        await outbound.check_resolved(outbound.check_url(url, listed), listed)
    except outbound.Refused as exc:
        raise ApiError(
            400, "callback_url_refused", f"callback_url is refused: {exc}", field="callback_url"
        ) from None


def _allowed_links(template: Template, params: Mapping[str, Param], hosts: list[str]) -> None:
    """A link parameter points only to a host the operator lists; its form is the type's check."""
    for key, placeholder in template.placeholders.items():
        if not isinstance(placeholder, LinkPlaceholder) or key not in params:
            continue
        try:
            link = str(placeholder.check(params[key]))
        except TemplateError:
            continue  # its form is refused with the other parameters, naming it the same way
        if link_host(link) not in hosts:
            raise ApiError(
                400,
                "invalid_parameter",
                f"{key}: the link's host is not one the gateway may link to",
                field=f"params.{key}",
            )


def _due_at(send_at: str | None, now: float) -> float | None:
    if send_at is None:
        return None
    try:
        due = parse_send_at(send_at).timestamp()
    except ValueError as exc:
        raise ApiError(400, "invalid_field", str(exc), field="send_at") from None
    if due > now + MAX_SCHEDULE_S:
        raise ApiError(400, "invalid_field", "send_at is more than 30 days ahead", field="send_at")
    return max(due, now)


def _batch(result: Result) -> NotificationBatch:
    items = [
        NotificationAccepted(
            recipient=o.recipient,
            id=o.id,
            error=None
            if o.code is None
            else RecipientError(code=o.code, message=o.reason or "", retry_after=o.retry_after),
        )
        for o in result.outcomes
    ]
    accepted = sum(1 for i in items if i.id is not None)
    return NotificationBatch(
        notifications=items,
        accepted=accepted,
        rejected=len(items) - accepted,
        replayed=result.replayed,
    )


@require_scope(SCOPE)
async def post_notifications(request: web.Request) -> web.Response:
    body = await read_model(request, NotificationRequest)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= IDEMPOTENCY_KEY_MAX:
        raise ApiError(400, "invalid_header", "Idempotency-Key must have 1 to 128 characters")
    deps = request.app[DEPS]
    if body.callback_url is not None:
        await _allowed_callback(body.callback_url, request.app[SETTINGS].callback_hosts)
    # A template only the gateway's own services send (a verification code) is not the
    # caller's to name: it answers as if it did not exist.
    if (
        body.template not in deps.templates
        or deps.templates.get(body.template).audience != "callers"
    ):
        raise ApiError(
            400, "unknown_template", f"no template named {body.template!r}", field="template"
        )
    hosts = request.app[SETTINGS].template_link_hosts
    _allowed_links(deps.templates.get(body.template), body.params, hosts)
    req = notify.Request(
        recipients=body.recipients if body.recipients is not None else [body.recipient or ""],
        template_id=body.template,
        params=body.params,
        lang=body.lang,
        due_at=_due_at(body.send_at, deps.clock()),
        priority=PRIORITIES[body.priority] if body.priority else None,
        callback_url=body.callback_url,
        source=request[API_KEY_NAME],
    )
    try:
        result = await notify.send(deps, req, f"{request[API_KEY_NAME]}:{key}" if key else None)
    except TemplateError as exc:
        field = "template" if exc.code == "unknown_template" else f"params.{exc.field}"
        raise ApiError(400, exc.code, exc.message, field=field) from None
    if result is None:
        raise ApiError(
            422, "idempotency_key_reused", "this Idempotency-Key was used with a different request"
        )
    batch = _batch(result)
    only = batch.notifications[0] if body.recipient is not None else None
    if only is not None and only.error is not None and only.error.code in REFUSED_NUMBER:
        raise ApiError(400, only.error.code, only.error.message, field="recipient")
    if only is not None and only.error is not None and only.error.code == "resend_too_soon":
        wait = only.error.retry_after or 1
        raise ApiError(
            429,
            "resend_too_soon",
            f"sent to this number recently; try again in {wait} s",
            retry_after=wait,
        )
    return answer(batch, status=202)


OPERATIONS = (
    Op("post", "/v1/notifications", "Send templated SMS", "notifications", ok=202,
       response=NotificationBatch, body=NotificationRequest, scope=SCOPE,
       description="Send `Idempotency-Key` to make a retry return the first answer. "
       "429 `resend_too_soon` when the template's resend interval has not passed.",
       errors={400: ("invalid_mobile", "unallocated_mobile", "invalid_header", "unknown_template",
                     "callback_url_refused",
                     "missing_parameter", "unknown_parameter", "invalid_parameter"),
               422: ("idempotency_key_reused",), 429: ("resend_too_soon",)}),
    Op("get", "/v1/notifications", "The caller's own notifications", "notifications",
       response=NotificationPage, query=NotificationQuery, scope=SCOPE,
       description="Newest first, keyset-paged; filters by recipient, status, template and "
       "creation time (ISO 8601 or Jalali). Only the messages this client asked for.",
       errors={400: ("invalid_field", "invalid_mobile")}),
    Op("get", "/v1/notifications/{id}", "A notification's state", "notifications",
       response=NotificationView, scope=SCOPE,
       path_params={"id": ("notification id", r"^[0-9]{18}$")}, errors={404: ("not_found",)}),
    Op("delete", "/v1/notifications/{id}", "Cancel a notification not yet sent", "notifications",
       response=NotificationView, scope=SCOPE,
       path_params={"id": ("notification id", r"^[0-9]{18}$")},
       description="Cancels a message no dispatcher has taken yet (a scheduled one, say): 200 "
       "with status `cancelled`, again on a repeat. 409 `already_handed` once it is being "
       "handed to a provider or has been.",
       errors={404: ("not_found",), 409: ("already_handed",)}),
)  # fmt: skip


def setup(app: web.Application) -> None:
    edge.add(app, "POST", "/v1/notifications", post_notifications)
    edge.add(app, "GET", "/v1/notifications", list_notifications)
    edge.add(app, "GET", "/v1/notifications/{id}", get_notification)
    edge.add(app, "DELETE", "/v1/notifications/{id}", cancel_notification)
