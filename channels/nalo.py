"""Nalo USSD: a JSON hop in capitals, `MSGTYPE` true on the first hop; the reply's `MSGTYPE` says
whether the session goes on.

Nalo sends no hop counter, so a retry cannot be told from a repeated answer: every hop counts.
"""

from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from channels.fields import caller, json_answer, json_model
from channels.hubtel import split_dial
from channels.models import SessionEvent, UssdHop, UssdReply


class NaloRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    USERID: str = Field(default="", max_length=128)
    MSISDN: str = Field(min_length=1, max_length=32)
    USERDATA: str = Field(default="", max_length=512)
    MSGTYPE: bool = Field(description="true on the first hop of a session")
    NETWORK: str = Field(default="", max_length=64)
    SESSIONID: str = Field(min_length=1, max_length=128)


class NaloResponse(BaseModel):
    USERID: str
    MSISDN: str
    MSG: str
    MSGTYPE: bool = Field(description="true: the session goes on; false: it ends")


class Nalo:
    name = "nalo"

    async def parse(self, request: web.Request) -> UssdHop:
        body = await json_model(request, NaloRequest)
        new = body.MSGTYPE
        # The first hop's USERDATA is the dial string (`*4455*1#`): the code, then a shortcut.
        code, inputs = split_dial(body.USERDATA) if new else ("", body.USERDATA)
        return UssdHop(
            dialect=self.name,
            session_id=body.SESSIONID,
            msisdn=caller(body.MSISDN, "MSISDN"),
            service_code=code,
            text=inputs,
            event=SessionEvent.NEW if new else SessionEvent.CONTINUE,
            hop_key=uuid.uuid4().hex,
            network=body.NETWORK,
            echo={"USERID": body.USERID, "MSISDN": body.MSISDN},
        )

    def render(self, reply: UssdReply, hop: UssdHop) -> web.Response:
        return json_answer(
            NaloResponse(
                USERID=hop.echo.get("USERID", ""),
                MSISDN=hop.echo.get("MSISDN", hop.msisdn),
                MSG=reply.text,
                MSGTYPE=not reply.end,
            )
        )
