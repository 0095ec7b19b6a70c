"""A fake sms.ir REST v1 server: paths, X-API-KEY header, JSON bodies and `{status, message, data}`.

sms.ir has no local id, so (like the real service) a resend is a second SMS; the fake records every
accepted SMS so tests can see that, and lists what it accepted in its send reports (`send/live`,
`send/archive`, paged) by mobile, text and send time, as the real one does. Knobs: the next N
answers with a given status, a slow answer (after accepting), an HTTP 500/503 mode without an
envelope, a connection cut after the request took effect, per-receptor blacklist/invalid marks,
sends refused for want of credit (102).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, Literal

from aiohttp import web

from tests.fakes.kavenegar import garbled


@dataclass
class AcceptedSms:
    message_id: int
    mobile: str
    text: str
    line: int | str
    delivery_state: int | None = None
    template_id: int | None = None
    sent_at: float = 0.0


@dataclass
class RecordedRequest:
    http_method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeSmsIr:
    api_key: str = "smsir-test-key-0123456789"
    templates: dict[int, str] = field(default_factory=lambda: {100200: "کد شما: #token#"})
    # knobs
    fail_next: list[tuple[int, int]] = field(default_factory=list)  # (status, http status)
    delay: float = 0.0
    http_error: int | None = None
    bad_receptors: dict[str, Literal["blacklist", "invalid"]] = field(default_factory=dict)
    credit: float = 1000.0
    cut_next: int = 0  # cut the connection after the next N requests took effect, unanswered
    drop_next: int = 0  # cut the connection of the next N requests before taking them
    no_credit: bool = False  # sends answer 102 (not enough credit); reports still work
    credit_sms: int | None = None  # the credit covers this many SMS; then sends answer 102
    garble_next: int = 0  # the next N answers are garbled AFTER the request took effect
    garble: str = "html"  # how: see tests.fakes.kavenegar.GARBLED
    gate: asyncio.Event | None = None  # requests to `gated` paths wait for it before anything
    gated: set[str] = field(default_factory=set)  # paths, e.g. {"/v1/send/live"}
    refused_texts: set[str] = field(default_factory=set)  # a call holding one is refused (117)
    skew_s: float = 0.0  # its clock runs this far ahead of the gateway's (the Date header)
    report_suffix: str = ""  # its reports list each text with this appended (an opt-out line)
    clock: Callable[[], float] = time.time
    # state
    accepted: list[AcceptedSms] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    inbound: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(86522023))

    def fail(self, status: int, http_status: int = 400, times: int = 1) -> None:
        self.fail_next.extend([(status, http_status)] * times)

    def add_inbound(self, mobile: str, line: str, text: str) -> int:
        rid = next(self._ids)
        self.inbound.append(
            {"receiveReturnId": rid, "messageText": text, "number": line, "mobile": mobile,
             "receivedDateTime": int(time.time())}
        )  # fmt: skip
        return rid

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/send/bulk", self._wrap(self._bulk))
        app.router.add_post("/v1/send/likeToLike", self._wrap(self._like_to_like))
        app.router.add_post("/v1/send/verify", self._wrap(self._verify))
        app.router.add_get("/v1/send/live", self._wrap(self._live))
        app.router.add_get("/v1/send/archive", self._wrap(self._archive))
        app.router.add_get("/v1/send/{message_id}", self._wrap(self._report))
        app.router.add_get("/v1/receive/latest", self._wrap(self._receive_latest))
        app.router.add_get("/v1/credit", self._wrap(self._credit))
        app.on_response_prepare.append(self._date)
        return app

    async def _date(self, _request: web.Request, response: web.StreamResponse) -> None:
        # Its own clock, as the real service's Date header gives it.
        response.headers["Date"] = formatdate(self.clock() + self.skew_s, usegmt=True)

    def _wrap(self, handler: Any) -> Any:
        async def handle(request: web.Request) -> web.Response:
            body = await request.json() if request.can_read_body else None
            headers = {k: v for k, v in request.headers.items()}
            self.requests.append(RecordedRequest(request.method, request.path_qs, headers, body))
            if self.gate is not None and request.path in self.gated:
                await self.gate.wait()
            if self.http_error is not None:
                return web.Response(status=self.http_error, text="Internal Server Error")
            if self.fail_next:
                status, http_status = self.fail_next.pop(0)
                return _answer(status, None, http_status)
            if request.headers.get("X-API-KEY") != self.api_key:
                return _answer(10, None, 401)
            if self.drop_next:
                self.drop_next -= 1
                assert request.transport is not None
                request.transport.abort()  # cut before anything was taken
                return _answer(0, None, 500)
            if self.no_credit and request.method == "POST":
                return _answer(102, None, 400)
            if (
                self.credit_sms is not None
                and request.method == "POST"
                and len(self.accepted) >= self.credit_sms
            ):
                return _answer(102, None, 400)
            texts = [body.get("messageText")] if body else []
            texts += (body.get("messageTexts") or []) if body else []
            if any(t in self.refused_texts for t in texts):
                return _answer(117, None, 400)
            status, data = handler(request, body)
            if self.cut_next:
                self.cut_next -= 1
                assert request.transport is not None
                request.transport.abort()  # taken, and the answer never leaves
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.garble_next:
                self.garble_next -= 1
                return garbled(self.garble, "smsir")
            return _answer(status, data, 200 if status == 1 else 400)

        return handle

    def _accept(self, mobile: str, text: str, line: Any, template: int | None = None) -> int | None:
        mark = self.bad_receptors.get(mobile)
        if mark == "blacklist":
            return 0
        if mark == "invalid" or not (mobile.isdecimal() and len(mobile) >= 10):
            return None
        sms = AcceptedSms(next(self._ids), mobile, text, line, None, template, self.clock())
        self.accepted.append(sms)
        return sms.message_id

    def _pack(self, mobiles: list[str], texts: list[str], line: Any) -> tuple[int, Any]:
        ids = [self._accept(m, t, line) for m, t in zip(mobiles, texts, strict=True)]
        if not any(ids):
            return 104, None
        cost = float(sum(1 for i in ids if i))
        return 1, {"packId": str(uuid.uuid4()), "messageIds": ids, "cost": cost}

    def _bulk(self, _r: web.Request, body: Any) -> tuple[int, Any]:
        mobiles, text = body.get("mobiles") or [], body.get("messageText") or ""
        if not text:
            return 103, None
        if not mobiles:
            return 107, None
        if len(mobiles) > 100:
            return 105, None
        return self._pack(mobiles, [text] * len(mobiles), body.get("lineNumber"))

    def _like_to_like(self, _r: web.Request, body: Any) -> tuple[int, Any]:
        mobiles, texts = body.get("mobiles") or [], body.get("messageTexts") or []
        if not texts:
            return 108, None
        if not mobiles:
            return 107, None
        if len(mobiles) != len(texts):
            return 110, None
        if len(mobiles) > 100:
            return 105, None
        return self._pack(mobiles, texts, body.get("lineNumber"))

    def _verify(self, _r: web.Request, body: Any) -> tuple[int, Any]:
        text = self.templates.get(body.get("templateId"))
        if text is None:
            return 113, None
        for p in body.get("parameters") or []:
            if not p.get("name"):
                return 116, None
            if len(str(p.get("value", ""))) > 25:
                return 114, None
            text = text.replace(f"#{p['name']}#", str(p.get("value", "")))
        mid = self._accept(body.get("mobile", ""), text, "verify", body.get("templateId"))
        if mid == 0:
            return 115, None
        if mid is None:
            return 104, None
        return 1, {"messageId": mid, "cost": 1.0}

    def _entry(self, s: AcceptedSms) -> dict[str, Any]:
        # The reports give the mobile as a number, without its leading zero.
        return {
            "messageId": s.message_id, "mobile": int(s.mobile),
            "messageText": s.text + self.report_suffix,
            "sendDateTime": int(s.sent_at), "lineNumber": s.line, "cost": 1.0,
            "deliveryState": s.delivery_state, "deliveryDateTime": None,
        }  # fmt: skip

    def _report(self, request: web.Request, _body: Any) -> tuple[int, Any]:
        wanted = request.match_info["message_id"]
        for s in self.accepted:
            if str(s.message_id) == wanted:
                return 1, self._entry(s)
        return 111, None

    def _page(self, request: web.Request, found: list[AcceptedSms]) -> tuple[int, Any]:
        size = int(request.query.get("pageSize", "10"))
        number = int(request.query.get("pageNumber", "1"))
        newest = sorted(found, key=lambda s: -s.sent_at)
        return 1, [self._entry(s) for s in newest[(number - 1) * size : number * size]]

    def _live(self, request: web.Request, _body: Any) -> tuple[int, Any]:
        """Today's sends (the fake's day: the last 24 hours of its clock)."""
        today = self.clock() - 24 * 3600
        return self._page(request, [s for s in self.accepted if s.sent_at >= today])

    def _archive(self, request: web.Request, _body: Any) -> tuple[int, Any]:
        """Sends before today, between `fromDate` and `toDate` (unix seconds)."""
        since, until = int(request.query["fromDate"]), int(request.query["toDate"])
        today = self.clock() - 24 * 3600
        found = [s for s in self.accepted if since <= s.sent_at <= until and s.sent_at < today]
        return self._page(request, found)

    def _receive_latest(self, _r: web.Request, _body: Any) -> tuple[int, Any]:
        handed, self.inbound = self.inbound, []  # each inbound SMS is handed over once
        return 1, handed

    def _credit(self, _r: web.Request, _body: Any) -> tuple[int, Any]:
        return 1, 0.0 if self.no_credit else self.credit


def _answer(status: int, data: Any, http_status: int) -> web.Response:
    message = "موفق" if status == 1 else "خطا"
    body = json.dumps({"status": status, "message": message, "data": data})
    return web.Response(status=http_status, text=body, content_type="application/json")
