"""`GET /v1/audit` (scope `audit`): the audit trail of every change made through `/v1` and by the
operator's key commands, newest first, masked (gateway/storage/audit.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from gateway.api.common import answer, read_query
from gateway.api.operations import Op
from gateway.api.paging import Paged, PageQuery, encode_cursor
from gateway.appkeys import STORAGE
from gateway.web import edge
from gateway.web.auth import require_scope
from gateway.web.errors import ApiError
from sessions.ports import AuditEntry, AuditStore

SCOPE = "audit"
_KEY_ID = re.compile(r"[A-Za-z0-9]{12}")


class AuditQuery(PageQuery):
    """The filters of `GET /v1/audit` and `run.py audit`."""

    client: str | None = Field(None, max_length=128, description="Only this client's changes.")
    key: str | None = Field(
        None, max_length=16, description="Only changes made with this key id (after `dgk_`)."
    )
    action: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[a-z_]+\.([a-z_]+)?$",
        description="A whole action (`complaints.changed`) or an object's (`complaints.`).",
    )


class AuditOut(BaseModel):
    id: str
    at: datetime
    key_id: str = Field(description="the API key's id; empty for the command line")
    client: str = Field(description="the key's name (its client), or `operator`")
    action: str = Field(description="`<object>.<verb>`, e.g. `complaints.changed`")
    target: str = Field(description="the object's key, masked when it is personal")
    before: dict[str, Any] | None = Field(description="the object before, masked")
    after: dict[str, Any] | None = Field(description="the object after, masked")

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditOut:
        return cls(
            id=entry.id,
            at=datetime.fromtimestamp(entry.created_at, UTC),
            key_id=entry.key_id,
            client=entry.client,
            action=entry.action,
            target=entry.target,
            before=entry.before,
            after=entry.after,
        )


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


async def audit_page(store: AuditStore, query: AuditQuery) -> AuditPage:
    """One page of the trail; shared by the route and the command."""
    window = query.window()
    rows = await store.find_audit(
        client=query.client,
        key_id=query.key,
        action=query.action,
        since=window.since,
        until=window.until,
        after=window.after,
        limit=query.limit + 1,
    )
    page = Paged(rows, query.limit)
    last = page.items[-1] if page.more else None
    return AuditPage(
        items=[AuditOut.of(e) for e in page.items],
        next_cursor=encode_cursor(last.created_at, last.id) if last else None,
    )


@require_scope(SCOPE)
async def list_audit(request: web.Request) -> web.StreamResponse:
    query = read_query(request, AuditQuery)
    if query.key is not None and not _KEY_ID.fullmatch(query.key):
        # A whole key pasted here would be logged and kept in a proxy's history: never asked for.
        raise ApiError(400, "invalid_field", "a key id: the 12 characters after dgk_", field="key")
    return answer(await audit_page(request.app[STORAGE], query))


OPERATIONS = (
    Op("get", "/v1/audit", "The audit trail", "audit",
       response=AuditPage, query=AuditQuery, scope=SCOPE,
       description="Every change made through `/v1` (records, complaints, service requests, "
       "resets verified, notifications, verifications) and every key created or revoked: when, "
       "which key, what, before and after, masked. Newest first, keyset-paged.",
       errors={400: ("invalid_field",)}),
)  # fmt: skip


def setup(app: web.Application) -> None:
    edge.add(app, "GET", "/v1/audit", list_audit)
