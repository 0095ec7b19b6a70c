"""The normalised USSD hop and reply: what every dialect parses into and renders from."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple


class SessionEvent(StrEnum):
    NEW = "new"
    CONTINUE = "continue"
    END = "end"  # the operator closed the session (hang-up, timeout): nothing to answer


NO_ECHO: Mapping[str, str] = MappingProxyType({})


class UssdHop(NamedTuple):
    """One operator callback, transport details removed.

    `text` is what the operator sent; when `cumulative` (Africa's Talking), it is the whole
    `*`-joined history and only what follows the previous hop's text is new. `hop_key` identifies
    the hop, so an operator's retry of the same hop is recognised and answered from the record.
    Immutable, and a named tuple rather than a frozen dataclass: it is built on every hop, in
    a third of the time.
    """

    dialect: str
    session_id: str
    msisdn: str  # canonical 09XXXXXXXXX
    service_code: str
    text: str
    event: SessionEvent
    hop_key: str
    cumulative: bool = False
    network: str = ""
    # Request fields a dialect must send back in its reply (Nalo's USERID); opaque to the core.
    echo: Mapping[str, str] = NO_ECHO

    @property
    def session_key(self) -> str:
        return f"{self.dialect}:{self.session_id}"


class UssdReply(NamedTuple):
    text: str
    end: bool
