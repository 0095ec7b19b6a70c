"""Africa's Talking USSD: form fields in, `CON …` / `END …` text out.

`text` is the whole session history joined by `*` ("" on the first hop); only what follows the
previous hop's text is new, so a `*` typed inside an answer survives. The history doubles as the
hop's identity: an operator's retry carries the same text.
"""

from __future__ import annotations

from aiohttp import web

from channels.docs import AfricasTalkingForm
from channels.fields import caller, form_fields, require
from channels.models import SessionEvent, UssdHop, UssdReply

# The required fields are the documented model's, so docs and parser cannot disagree.
REQUIRED = tuple(n for n, f in AfricasTalkingForm.model_fields.items() if f.is_required())


class AfricasTalking:
    name = "africastalking"

    async def parse(self, request: web.Request) -> UssdHop:
        fields = await form_fields(request)
        require(fields, REQUIRED, allow_empty=("text",), long=("text",))
        text = fields["text"]
        return UssdHop(
            dialect=self.name,
            session_id=fields["sessionId"].strip(),
            msisdn=caller(fields["phoneNumber"], "phoneNumber"),
            service_code=fields["serviceCode"].strip(),
            text=text,
            event=SessionEvent.NEW if text == "" else SessionEvent.CONTINUE,
            hop_key=text,
            cumulative=True,
            network=fields.get("networkCode", ""),
        )

    def render(self, reply: UssdReply, hop: UssdHop) -> web.Response:
        prefix = "END" if reply.end else "CON"
        return web.Response(
            text=f"{prefix} {reply.text}", content_type="text/plain", charset="utf-8"
        )
