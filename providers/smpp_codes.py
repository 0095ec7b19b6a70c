"""SMPP 3.4's literal tables: `command_status` to the gateway's error kinds, and delivery
receipts' states to its delivery states.

An answered `submit_sm` with an error status was refused: nothing went out, so none of these is
`unknown`. `destination` is a refusal of the number by this route only: the dispatcher tries the
next route, and the message fails only when every route refuses it.
"""

from __future__ import annotations

from typing import Literal

from providers.base import DeliveryState

StatusKind = Literal["retryable", "account", "permanent", "destination"]

# (kind, name) by command_status; a status not listed is retryable (refused, so safe to repeat
# until its validity ends).
COMMAND_STATUS: dict[int, tuple[StatusKind, str]] = {
    0x01: ("permanent", "ESME_RINVMSGLEN"),
    0x02: ("permanent", "ESME_RINVCMDLEN"),
    0x03: ("permanent", "ESME_RINVCMDID"),
    0x04: ("account", "ESME_RINVBNDSTS"),
    0x05: ("account", "ESME_RALYBND"),
    0x08: ("retryable", "ESME_RSYSERR"),
    0x0A: ("account", "ESME_RINVSRCADR"),
    0x0B: ("destination", "ESME_RINVDSTADR"),
    0x0D: ("account", "ESME_RBINDFAIL"),
    0x0E: ("account", "ESME_RINVPASWD"),
    0x0F: ("account", "ESME_RINVSYSID"),
    0x14: ("retryable", "ESME_RMSGQFUL"),
    0x15: ("permanent", "ESME_RINVSERTYP"),
    0x33: ("destination", "ESME_RINVNUMDESTS"),
    0x44: ("retryable", "ESME_RSUBMITFAIL"),
    0x48: ("account", "ESME_RINVSRCTON"),
    0x49: ("account", "ESME_RINVSRCNPI"),
    0x50: ("destination", "ESME_RINVDSTTON"),
    0x51: ("destination", "ESME_RINVDSTNPI"),
    0x53: ("account", "ESME_RINVSYSTYP"),
    0x58: ("retryable", "ESME_RTHROTTLED"),
    0x61: ("permanent", "ESME_RINVSCHED"),
    0x62: ("permanent", "ESME_RINVEXPIRY"),
    0xC0: ("permanent", "ESME_RINVOPTPARSTREAM"),
    0xC1: ("permanent", "ESME_ROPTPARNOTALLWD"),
    0xC2: ("permanent", "ESME_RINVPARLEN"),
    0xC4: ("permanent", "ESME_RINVOPTPARAMVAL"),
}


def classify(status: int) -> tuple[StatusKind, str]:
    """The policy and the spec's name for a `submit_sm_resp` status."""
    return COMMAND_STATUS.get(status, ("retryable", f"status 0x{status:08X}"))


# A receipt's `stat:` word, and the `message_state` TLV's value (SMPP 3.4 §5.2.28).
RECEIPT_STAT: dict[str, DeliveryState] = {
    "DELIVRD": DeliveryState.DELIVERED,
    "EXPIRED": DeliveryState.UNDELIVERED,
    "UNDELIV": DeliveryState.UNDELIVERED,
    "DELETED": DeliveryState.FAILED,
    "REJECTD": DeliveryState.FAILED,
    "ACCEPTD": DeliveryState.SENT,
    "ENROUTE": DeliveryState.SENT,
    "UNKNOWN": DeliveryState.UNKNOWN,
}
MESSAGE_STATE: dict[int, str] = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}
