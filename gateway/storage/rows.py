"""Rows to records and back: column lists, the session state's encoding, the redaction rule."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson

from sessions.ports import OpenedSession, StoredSession

NOTIFICATION_COLUMNS = (
    "id, recipient, template_id, status, error, attempts, provider, created_at, sent_at, final_at"
)
# A code or password (priority 0) keeps no readable text once it has been handed over.
REDACTED_BODY = "CASE WHEN priority = 0 THEN '[redacted] ' || template_id ELSE body END"


# A session's state is written and read on every hop: orjson does both in 0.9 µs against 4.1 µs
# with `json` (bench/RESULTS.md). State holds text, whole numbers, flags and lists and dicts of
# them, which both write alike (a NaN, which no flow stores, would come back as null). What orjson
# refuses (a lone surrogate) goes through `json`, which writes it as the escape it arrived as.
_encode_state = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def encode_state_utf8(state: dict[str, Any]) -> bytes:
    """The state's JSON as UTF-8 bytes. SQLite keeps them as they are (a BLOB): a text value
    would be decoded into a `str` on every read only for orjson to encode it again."""
    try:
        return orjson.dumps(state)
    except TypeError:
        return _encode_state(state).encode("ascii")


def encode_state(state: dict[str, Any]) -> str:
    """The state's JSON as text, for PostgreSQL's text column."""
    return encode_state_utf8(state).decode("utf-8")


def decode_state(data: str | bytes) -> dict[str, Any]:
    """Text or bytes: SQLite rows written before states were stored as bytes are text."""
    try:
        state: dict[str, Any] = orjson.loads(data)
    except orjson.JSONDecodeError:  # the escape of a lone surrogate, which only `json` reads
        state = json.loads(data)
    return state


# The columns `session_from_row` reads, in its order.
SESSION_COLUMNS = (
    "key, msisdn, state, status, last_hop_key, last_reply_text, last_reply_end, "
    "created_at, updated_at"
)


def session_from_row(row: Any) -> StoredSession | None:
    """A row of SESSION_COLUMNS (a plain tuple, sqlite3.Row or asyncpg Record), read by position:
    SQLite's session reads return plain tuples, which cost less than a Row."""
    if row is None:
        return None
    return StoredSession(
        key=row[0],
        msisdn=row[1],
        state=decode_state(row[2]),
        status=row[3],
        last_hop_key=row[4],
        last_reply_text=row[5],
        last_reply_end=bool(row[6]),
        created_at=row[7],
        updated_at=row[8],
    )


def opened_from_rows(rows: Iterable[Any], key: str) -> OpenedSession:
    """The first read of a new session's hop (`sessions._FIRST_READ`): the row of `key`, else the
    caller's newest open session, and the language row (no key; the language last)."""
    stored = latest = None
    lang: str | None = None
    for row in rows:
        if row[0] is None:
            lang = None if row[9] is None else str(row[9])
        elif row[0] == key:
            stored = session_from_row(row)
        else:
            latest = session_from_row(row)
    return OpenedSession(stored, latest if stored is None else None, lang, lang_read=True)
