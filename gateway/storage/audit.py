"""The audit trail: who changed what through `/v1` (or the operator's commands), when, and the
object before and after, masked. An entry is written in the transaction of the change it
describes, so the two commit, or roll back, together.

To audit a change, call `append_audit(tx, action, target, before, after)` inside the transaction
that makes it. Who acted comes from the context: `require_scope` (gateway/web/auth.py) sets the
API key for every `/v1` request, and `acting_as` sets it anywhere else (a command, the console).
With no one acting (a USSD hop, the dispatcher) nothing is written: those are not changes made
by a caller. Changes through the generic record store (`gateway/storage/records.py`) are audited
there already.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

from gateway.storage.database import Database, Tx
from sessions.masking import mask_text
from sessions.ports import AuditEntry

OPERATOR = "operator"  # the client of the command line's own changes


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes the changes of the current request or command."""

    key_id: str  # the API key's id; "" for the command line
    client: str  # the key's name (its client), or OPERATOR
    clock: Callable[[], float] = field(default=time.time, compare=False)


_ACTOR: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    """Changes made inside are audited as `actor`'s."""
    token = _ACTOR.set(actor)
    try:
        yield
    finally:
        _ACTOR.reset(token)


def current_actor() -> Actor | None:
    return _ACTOR.get()


# Never written, whatever they hold: hashes, sealed texts, message bodies, passwords.
_HIDDEN = frozenset(
    {"password", "password_hash", "key_hash", "code", "code_hash", "secret", "sealed", "body",
     "text", "params", "signing_secret"}
)  # fmt: skip
# Made by the gateway and personal to no one: written as they are (masking would take an
# 18-digit notification id for a number).
_KEPT = frozenset(
    {"id", "ids", "key_id", "client", "template_id", "status", "scopes", "created_at",
     "updated_at", "priority", "count", "valid", "attempts"}
)  # fmt: skip


def _masked(name: str, value: Any) -> Any:
    if name in _HIDDEN and value not in (None, ""):
        return "***"
    if name in _KEPT:
        return value
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {str(k): _masked(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [_masked(name, v) for v in items]
    if isinstance(value, bool | float | None):
        return value
    if isinstance(value, int):  # a number that could be a person's is masked as text
        text = mask_text(str(value))
        return value if text == str(value) else text
    return mask_text(str(value))


def masked(obj: object) -> dict[str, Any] | None:
    """An object (a dataclass or a mapping) as the audit trail keeps it: every field masked."""
    if obj is None:
        return None
    raw: Mapping[str, Any]
    if is_dataclass(obj) and not isinstance(obj, type):
        raw = asdict(obj)
    elif isinstance(obj, Mapping):
        raw = obj
    else:
        raise TypeError(f"cannot audit a {type(obj).__name__}")
    return {str(k): _masked(str(k), v) for k, v in raw.items()}


async def append_audit(
    tx: Tx,
    action: str,
    target: str,
    before: object = None,
    after: object = None,
    *,
    personal_target: bool = True,
) -> None:
    """Appends one entry to the audit trail, inside `tx`, the transaction making the change.

    - `action`: `<object>.<verb>`, the object in the plural as its table (`complaints.changed`,
      `service_requests.created`, `notifications.cancelled`, `api_keys.revoked`).
    - `target`: the object's key. Masked like a log line unless `personal_target=False` (an id
      the gateway made: a notification id, a key id, a service request's number).
    - `before`, `after`: the object as it was and as it is (a dataclass or a mapping; None when
      it did not exist or is gone). Every field is masked; hashes, codes, passwords and texts
      are never written.

    The actor is the current one (`acting_as`; every `/v1` request has its key's); with none,
    nothing is written."""
    actor = _ACTOR.get()
    if actor is None:
        return
    await tx.execute(
        "INSERT INTO audit (created_at, key_id, client, action, target, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        actor.clock(),
        actor.key_id,
        actor.client,
        action,
        mask_text(target) if personal_target else target,
        _json(masked(before)),
        _json(masked(after)),
    )


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _loaded(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    value = json.loads(raw)
    return value if isinstance(value, dict) else {"value": value}


class Audit:
    db: Database

    async def audit_event(
        self, action: str, target: str, after: object = None, *, personal_target: bool = True
    ) -> None:
        """An entry for an act that changes nothing else (a reset password verified): its own
        transaction."""
        async with self.db.transaction() as tx:
            await append_audit(tx, action, target, None, after, personal_target=personal_target)

    async def find_audit(
        self,
        *,
        client: str | None = None,
        key_id: str | None = None,
        action: str | None = None,
        since: float | None = None,
        until: float | None = None,
        after: tuple[float, str] | None = None,
        limit: int = 50,
    ) -> list[AuditEntry]:
        """Entries newest first, created in [since, until), after the keyset position `after`
        (created_at, id). `action` is a whole action or an object's prefix (`complaints.`)."""
        clause = "TRUE"
        args: list[object] = []
        for column, value in (("client", client), ("key_id", key_id)):
            if value is not None:
                clause += f" AND {column} = ?"
                args.append(value)
        if action is not None:
            if action.endswith("."):
                clause += " AND action >= ? AND action < ?"
                args.extend((action, action[:-1] + "/"))  # '/' sorts right after '.'
            else:
                clause += " AND action = ?"
                args.append(action)
        if since is not None:
            clause += " AND created_at >= ?"
            args.append(float(since))
        if until is not None:
            clause += " AND created_at < ?"
            args.append(float(until))
        if after is not None:  # a cursor's key is the entry's sequence number
            clause += " AND (created_at, seq) < (?, ?)"
            args.extend((float(after[0]), int(after[1]) if after[1].isdigit() else 0))
        async with self.db.reading() as tx:
            rows = await tx.fetch(
                "SELECT seq, created_at, key_id, client, action, target, before, after FROM audit "
                f"WHERE {clause} ORDER BY created_at DESC, seq DESC LIMIT ?",
                *args,
                limit,
            )
        return [
            AuditEntry(str(r[0]), float(r[1]), r[2], r[3], r[4], r[5], _loaded(r[6]), _loaded(r[7]))
            for r in rows
        ]
