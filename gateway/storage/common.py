"""What both storage backends share: migration discovery and row-to-record mapping."""

from __future__ import annotations

import json
from dataclasses import astuple, fields
from importlib import resources
from typing import Any, TypeVar

import orjson

from sessions.ports import StoredSession
from sessions.records import Complaint, Loan, Registration

RecordT = TypeVar("RecordT", Registration, Loan, Complaint)

# Each record's table and primary key.
RECORD_TABLES: dict[type[Any], tuple[str, str]] = {
    Registration: ("registrations", "national_id"),
    Loan: ("loans", "tracking_code"),
    Complaint: ("complaints", "ticket"),
}

NOTIFICATION_COLUMNS = (
    "id, recipient, template_id, status, error, attempts, provider, created_at, sent_at, final_at"
)
# A code or password (priority 0) keeps no readable text once it has been handed over.
REDACTED_BODY = "CASE WHEN priority = 0 THEN '[redacted] ' || template_id ELSE body END"


def record_columns(kind: type[Any]) -> list[str]:
    return [f.name for f in fields(kind)]


def unchanged(old: Any, new: Any) -> bool:
    """The same record but for `updated_at` (the last field): a repeated PUT owes nothing."""
    return bool(astuple(old)[:-1] == astuple(new)[:-1])


def migration_scripts(backend: str) -> list[tuple[int, str, str]]:
    """(version, name, sql) for every `NNNN_name.sql` of `gateway/migrations/<backend>`, in
    order; the versions must run 1..n without gaps."""
    folder = resources.files("gateway") / "migrations" / backend
    scripts = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            scripts.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    scripts.sort()
    versions = [v for v, _, _ in scripts]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migration versions must be 1..n without gaps: {versions}")
    return scripts


# A session's state is written and read on every hop: orjson does both in 0.9 µs against 4.1 µs
# with `json` (bench/RESULTS.md). State holds text, whole numbers, flags and lists and dicts of
# them, which both write alike (a NaN, which no flow stores, would come back as null). What orjson
# refuses (a lone surrogate) goes through `json`, which writes it as the escape it arrived as.
_encode_state = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def encode_state(state: dict[str, Any]) -> str:
    try:
        return orjson.dumps(state).decode("utf-8")
    except TypeError:
        return _encode_state(state)


def decode_state(text: str) -> dict[str, Any]:
    try:
        state: dict[str, Any] = orjson.loads(text)
    except orjson.JSONDecodeError:  # the escape of a lone surrogate, which only `json` reads
        state = json.loads(text)
    return state


def session_from_row(row: Any) -> StoredSession | None:
    """A `ussd_sessions` row (sqlite3.Row or asyncpg Record) as the core's StoredSession."""
    if row is None:
        return None
    state = decode_state(row["state"])
    return StoredSession(
        key=row["key"],
        msisdn=row["msisdn"],
        state=state,
        status=row["status"],
        last_hop_key=row["last_hop_key"],
        last_reply_text=row["last_reply_text"],
        last_reply_end=bool(row["last_reply_end"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
