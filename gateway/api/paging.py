"""Keyset pagination and creation-time filters for `/v1` lists (complaints, service requests):
pages ordered by (created_at, key), continued by an opaque cursor, stable under inserts."""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from gateway.web.errors import ApiError
from sessions.normalize import digits_only, normalize
from sessions.ports import Rec, Storage
from templates_sms import parse_send_at

R = TypeVar("R")


def _digits(value: object) -> object:
    return digits_only(value) if isinstance(value, str) else value


def _date_from(value: object) -> object:
    return parse_send_at(value) if isinstance(value, str) else value


def _date_to(value: object) -> object:
    """A bare date as `to` includes that whole day: the filter is `created_at < to`."""
    if not isinstance(value, str):
        return value
    moment = parse_send_at(value)
    return moment + timedelta(days=1) if _DATE_ONLY.fullmatch(normalize(value)) else moment


_DATE_ONLY = re.compile(r"[0-9]{4}[/-][0-9]{1,2}[/-][0-9]{1,2}")
# Parsed into a datetime, but what a caller sends is a string in one of two calendars.
_DATE_SCHEMA = WithJsonSchema(
    {"type": "string", "examples": ["1404/08/30", "2025-11-21T00:00:00+03:30"]}
)


class PageQuery(BaseModel):
    """What every list's query shares: a creation window, a page size and the cursor."""

    model_config = ConfigDict(extra="forbid")

    created_from: Annotated[datetime | None, BeforeValidator(_date_from), _DATE_SCHEMA] = Field(
        None,
        alias="from",
        description="Created at or after this time: ISO 8601 (Tehran time without an "
        "offset) or a Jalali date such as 1404/08/30 or 1404/08/30 14:00.",
    )
    created_to: Annotated[datetime | None, BeforeValidator(_date_to), _DATE_SCHEMA] = Field(
        None,
        alias="to",
        description="Created before this time, in the same forms as `from`; a bare date "
        "includes that whole day.",
    )
    limit: Annotated[int, BeforeValidator(_digits)] = Field(
        50, ge=1, le=200, description="Page size."
    )
    cursor: str | None = Field(
        None, max_length=200, description="`next_cursor` of the previous page."
    )

    def window(self) -> Window:
        return Window(
            self.created_from.timestamp() if self.created_from else None,
            self.created_to.timestamp() if self.created_to else None,
            decode_cursor(self.cursor) if self.cursor else None,
        )


class Window(NamedTuple):
    """The store's `since`, `until` and `after` for a list query."""

    since: float | None
    until: float | None
    after: tuple[float, str] | None


def encode_cursor(created_at: float, key: str) -> str:
    """Opaque to callers: the keyset position after the record (created_at, key)."""
    raw = json.dumps([created_at, key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    bad = ApiError(400, "invalid_field", "not a cursor this API gave out", field="cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, key = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        raise bad from None
    if (
        not isinstance(created_at, int | float)
        or isinstance(created_at, bool)
        or not math.isfinite(created_at)
        or not isinstance(key, str)
    ):
        raise bad
    return float(created_at), key


class Paged(Generic[R]):
    """One page of rows fetched with one more than asked: the extra one says a page follows."""

    def __init__(self, rows: list[R], limit: int) -> None:
        self.items = rows[:limit]
        self.more = len(rows) > limit


async def record_page(
    store: Storage, kind: type[Rec], where: Mapping[str, object], query: PageQuery
) -> tuple[list[Rec], str | None]:
    """One page of a record list (oldest first) and the cursor of the next, when one follows."""
    window = query.window()
    rows = await store.find_records(
        kind,
        where,
        since=window.since,
        until=window.until,
        after=window.after,
        limit=query.limit + 1,  # one more than asked tells whether another page follows
    )
    page = Paged(rows, query.limit)
    last = page.items[-1] if page.more else None
    return page.items, encode_cursor(last.created_at, getattr(last, kind.KEY)) if last else None
