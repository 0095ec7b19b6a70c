"""What the core needs from the outside world, as interfaces; the storage layer implements them.

The core (engine, flows, services) calls these and never writes SQL, so a PostgreSQL implementation
can stand beside the SQLite one without touching a flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(slots=True)
class StoredSession:
    key: str  # "<dialect>:<operator session id>"
    msisdn: str
    state: dict[str, Any]
    status: str  # active | interrupted | ended
    last_hop_key: str | None
    last_reply_text: str
    last_reply_end: bool
    created_at: float
    updated_at: float


class SessionStore(Protocol):
    async def get_session(self, key: str) -> StoredSession | None: ...

    async def latest_open_session(self, msisdn: str, since: float) -> StoredSession | None:
        """The newest session of this number, updated at or after `since`, not ended."""
        ...

    async def put_session(self, session: StoredSession) -> None: ...

    async def set_session_status(self, key: str, status: str) -> None: ...

    async def purge_sessions(self, updated_before: float) -> int: ...


class Storage(SessionStore, Protocol):
    """Everything the gateway stores; grows one small protocol per concern."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...
