"""The normalised USSD hop and reply: what every dialect parses into and renders from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class SessionEvent(StrEnum):
    NEW = "new"
    CONTINUE = "continue"
    END = "end"  # the operator closed the session (hang-up, timeout): nothing to answer


@dataclass(frozen=True, slots=True)
class UssdHop:
    """One operator callback, transport details removed.

    `text` is what the operator sent; when `cumulative` (Africa's Talking), it is the whole
    `*`-joined history and only what follows the previous hop's text is new. `hop_key` identifies
    the hop, so an operator's retry of the same hop is recognised and answered from the record.
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
    echo: Mapping[str, str] = field(default_factory=dict)

    @property
    def session_key(self) -> str:
        return f"{self.dialect}:{self.session_id}"


@dataclass(frozen=True, slots=True)
class UssdReply:
    text: str
    end: bool
