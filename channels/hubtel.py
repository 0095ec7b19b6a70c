"""Hubtel USSD: a JSON hop with a `Type` and a `Sequence`, a JSON reply of `Response`/`Release`.

`Initiation` carries the dial string (`*4455*1#`): what follows the service code is a shortcut
into the menu. `Release` and `Timeout` close the session. `Sequence` counts the hops, so an
operator's retry carries the same one.
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from channels.fields import caller, json_answer, json_model
from channels.models import SessionEvent, UssdHop, UssdReply

EVENTS = {
    "Initiation": SessionEvent.NEW,
    "Response": SessionEvent.CONTINUE,
    "Release": SessionEvent.END,
    "Timeout": SessionEvent.END,
}


class HubtelRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    Type: Literal["Initiation", "Response", "Release", "Timeout"]
    Mobile: str = Field(min_length=1, max_length=32)
    SessionId: str = Field(min_length=1, max_length=128)
    ServiceCode: str = Field(default="", max_length=64)
    Message: str = Field(default="", max_length=512)
    Operator: str = Field(default="", max_length=64)
    Sequence: int = Field(ge=0, le=10_000)


class HubtelResponse(BaseModel):
    Type: Literal["Response", "Release"]
    Message: str


def split_dial(message: str) -> tuple[str, str]:
    """`*4455*1*2#` → (`*4455#`, `1*2`): the service code, and the inputs dialled after it."""
    dialled = message.strip().rstrip("#").lstrip("*")
    code, _, inputs = dialled.partition("*")
    return (f"*{code}#" if code else ""), inputs


class Hubtel:
    name = "hubtel"

    async def parse(self, request: web.Request) -> UssdHop:
        body = await json_model(request, HubtelRequest)
        event = EVENTS[body.Type]
        text = body.Message
        if event is SessionEvent.NEW and body.Message.lstrip().startswith("*"):
            text = split_dial(body.Message)[1]
        return UssdHop(
            dialect=self.name,
            session_id=body.SessionId,
            msisdn=caller(body.Mobile, "Mobile"),
            service_code=body.ServiceCode,
            text=text,
            event=event,
            hop_key=str(body.Sequence),
            network=body.Operator,
        )

    def render(self, reply: UssdReply, hop: UssdHop) -> web.Response:
        return json_answer(
            HubtelResponse(Type="Release" if reply.end else "Response", Message=reply.text)
        )
