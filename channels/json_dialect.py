"""The gateway's own JSON dialect: one input per hop, an explicit hop counter for retries."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from channels.fields import caller, json_answer, json_model
from channels.models import SessionEvent, UssdHop, UssdReply


class JsonUssdRequest(BaseModel):
    """One hop. Send `hop` 0 on the first request and increase it by one per answer: a request
    repeated with the same `hop` is a retry and gets the same screen again."""

    model_config = ConfigDict(extra="ignore")

    session_id: str = Field(min_length=1, max_length=128, examples=["op-5f2c9a"])
    msisdn: str = Field(min_length=1, max_length=32, examples=["+989121234567"])
    service_code: str = Field(default="", max_length=64, examples=["*4455#"])
    text: str = Field(default="", max_length=512, description="the caller's newest input")
    event: Literal["new", "continue", "end"] = "continue"
    hop: int = Field(ge=0, le=10_000)


class JsonUssdResponse(BaseModel):
    session_id: str
    text: str
    end: bool
    hop: int


class JsonDialect:
    name = "json"

    async def parse(self, request: web.Request) -> UssdHop:
        body = await json_model(request, JsonUssdRequest)
        return UssdHop(
            dialect=self.name,
            session_id=body.session_id,
            msisdn=caller(body.msisdn, "msisdn"),
            service_code=body.service_code,
            text=body.text,
            event=SessionEvent(body.event),
            hop_key=str(body.hop),
        )

    def render(self, reply: UssdReply, hop: UssdHop) -> web.Response:
        out = JsonUssdResponse(
            session_id=hop.session_id, text=reply.text, end=reply.end, hop=int(hop.hop_key)
        )
        return json_answer(out)
