"""USSD over SMPP: `deliver_sm` with `ussd_service_op` in, `submit_sm` with one out, on a bind of
its own (GATEWAY_USSD_SMPP_LINK). The same session engine as the HTTP dialects answers.

In: op 1 (PSSR indication) opens a session, its text the dialled string (`*4455*1#`: the
inputs after the code go in as a shortcut, as over HTTP); op 18 (USSR confirm) is the caller's
answer. Any other op, or `its_session_info` with its end bit, is the network ending the session
(the caller hung up, a timeout): ended as the HTTP dialects' end event, nothing answered.
Out: op 2 (USSR request) for a screen that waits for input, op 17 (PSSR response) for the last.
The session is the caller's address with `its_session_info`'s session number where the SMSC
sends it, else with `user_message_reference`; both are echoed back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from channels.models import BadCallback, SessionEvent, UssdHop, UssdReply
from sessions.validators import InvalidInput, mobile

DIALECT = "smpp"
TLV_USER_MESSAGE_REFERENCE = 0x0204
TLV_USSD_SERVICE_OP = 0x0501
TLV_ITS_SESSION_INFO = 0x1383

OP_PSSR_INDICATION = 1
OP_USSR_REQUEST = 2
OP_PSSR_RESPONSE = 17
OP_USSR_CONFIRM = 18
EVENTS: dict[int, SessionEvent] = {
    OP_PSSR_INDICATION: SessionEvent.NEW,
    OP_USSR_CONFIRM: SessionEvent.CONTINUE,
}


@dataclass(frozen=True, slots=True)
class UssdIn:
    """A USSD `deliver_sm`, its text decoded."""

    source_addr: str  # the caller
    destination_addr: str  # the service code the network addressed
    text: str
    tlvs: Mapping[int, bytes]


def _session(msg: UssdIn, caller: str) -> tuple[str, int | None]:
    info = msg.tlvs.get(TLV_ITS_SESSION_INFO)
    if info is not None and len(info) == 2:
        return f"{caller}:s{info[0]}", info[1] >> 1
    umr = msg.tlvs.get(TLV_USER_MESSAGE_REFERENCE)
    if umr:
        return f"{caller}:u{int.from_bytes(umr, 'big')}", None
    return caller, None


def hop_of(msg: UssdIn, hop_number: int) -> UssdHop:
    """The hop; `hop_number` counts this session's deliver_sm (a retry is told by its sequence
    in `its_session_info` where there is one). BadCallback for a caller who is no mobile."""
    try:
        caller = mobile(msg.source_addr)
    except InvalidInput as exc:
        raise BadCallback("invalid_fields", ["source_addr"], "not a mobile number") from exc
    op_raw = msg.tlvs.get(TLV_USSD_SERVICE_OP, b"")
    op = op_raw[0] if op_raw else -1
    info = msg.tlvs.get(TLV_ITS_SESSION_INFO)
    ended = info is not None and len(info) == 2 and bool(info[1] & 1)
    event = SessionEvent.END if ended else EVENTS.get(op, SessionEvent.END)
    session, sequence = _session(msg, caller)
    code, text = msg.destination_addr, msg.text.strip()
    if event is SessionEvent.NEW:
        # `*4455*1*2#`: the service `*4455#`, then inputs 1 and 2.
        parts = [p for p in text.strip("#").split("*") if p]
        if parts:
            code, text = f"*{parts[0]}#", "*".join(parts[1:])
    step = sequence if sequence is not None else hop_number
    return UssdHop(
        dialect=DIALECT,
        session_id=session,
        msisdn=caller,
        service_code=code,
        text=text,
        event=event,
        hop_key=f"{op}:{step}",
    )


@dataclass(frozen=True, slots=True)
class UssdOut:
    """The `submit_sm` that answers a hop."""

    destination_addr: str
    source_addr: str
    text: str
    tlvs: dict[int, bytes]


def reply_to(msg: UssdIn, reply: UssdReply) -> UssdOut:
    op = OP_PSSR_RESPONSE if reply.end else OP_USSR_REQUEST
    tlvs = {TLV_USSD_SERVICE_OP: bytes((op,))}
    info = msg.tlvs.get(TLV_ITS_SESSION_INFO)
    if info is not None and len(info) == 2:
        sequence = ((info[1] >> 1) + 1) & 0x7F
        tlvs[TLV_ITS_SESSION_INFO] = bytes((info[0], (sequence << 1) | int(reply.end)))
    umr = msg.tlvs.get(TLV_USER_MESSAGE_REFERENCE)
    if umr:
        tlvs[TLV_USER_MESSAGE_REFERENCE] = umr
    return UssdOut(msg.source_addr, msg.destination_addr, reply.text, tlvs)
