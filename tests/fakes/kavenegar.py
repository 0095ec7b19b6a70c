"""A fake Kavenegar REST server: same paths, form bodies, envelopes and codes as the real one.

It deduplicates on localid like the real service (a resend with the same localid answers the first
messageid and is not a second SMS), records every request and every accepted SMS, and has knobs for
faults: the next N answers with a given return.status, a slow answer (after accepting!), an HTTP
500/503 mode without an envelope, a connection cut after the request took effect, per-receptor
errors, and sends refused for want of credit (418) while status queries still work.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

STATUS_TEXT = {1: "در صف ارسال", 10: "رسیده به گیرنده", 100: "شناسه نامعتبر"}
SENDS = {("sms", "send"), ("sms", "sendarray"), ("verify", "lookup")}


@dataclass
class AcceptedSms:
    messageid: int
    receptor: str
    sender: str
    message: str
    localid: str | None
    status: int = 1
    template: str | None = None


@dataclass
class RecordedRequest:
    scope: str
    method: str
    http_method: str
    form: dict[str, list[str]]

    def one(self, name: str) -> str:
        return self.form[name][0]


@dataclass
class FakeKavenegar:
    api_key: str = "test-key-0123456789"
    cost: int = 120
    templates: dict[str, str] = field(default_factory=lambda: {"otp": "کد شما: %token"})
    # knobs
    fail_next: list[int] = field(default_factory=list)  # return.status for the next answers
    delay: float = 0.0  # seconds to wait before answering, AFTER the request took effect
    http_error: int | None = None  # answer this HTTP status with a plain-text body
    bad_receptors: dict[str, int] = field(default_factory=dict)  # receptor -> return.status
    cut_next: int = 0  # cut the connection after the next N requests took effect, unanswered
    drop_next: int = 0  # cut the connection of the next N requests before taking them
    no_credit: bool = False  # sends answer 418; status queries and account/info still work
    credit_sms: int | None = None  # the credit covers this many SMS; then sends answer 418
    garble_next: int = 0  # the next N answers are garbled AFTER the request took effect
    garble: str = "html"  # how: see GARBLED
    gate: asyncio.Event | None = None  # requests to `gated` methods wait for it before anything
    gated: set[str] = field(default_factory=set)  # method names, e.g. {"statuslocalmessageid"}
    clock: Callable[[], float] = time.time
    # state
    accepted: list[AcceptedSms] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    inbound: list[dict[str, Any]] = field(default_factory=list)
    _by_localid: dict[str, AcceptedSms] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(8792343))

    def fail(self, status: int, times: int = 1) -> None:
        self.fail_next.extend([status] * times)

    @property
    def sms_count_by_localid(self) -> Counter[str]:
        """How many SMS went out per localid: 1 each when deduplication works."""
        return Counter(s.localid for s in self.accepted if s.localid is not None)

    def set_status(self, messageid: int, status: int) -> None:
        for s in self.accepted:
            if s.messageid == messageid:
                s.status = status

    def add_inbound(self, sender: str, line: str, message: str) -> int:
        mid = next(self._ids)
        self.inbound.append(
            {"messageid": mid, "message": message, "sender": sender, "receptor": line,
             "date": int(time.time()), "read": False}
        )  # fmt: skip
        return mid

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/v1/{key}/{scope}/{method}.json", self._handle)
        return app

    # --- protocol --------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        scope, method = request.match_info["scope"], request.match_info["method"]
        form: dict[str, list[str]] = {}
        for source in (request.query, await request.post()):
            for k in source:
                form.setdefault(k, []).extend(str(v) for v in source.getall(k))
        self.requests.append(RecordedRequest(scope, method, request.method, form))
        if self.gate is not None and method in self.gated:
            await self.gate.wait()
        if self.http_error is not None:
            return web.Response(status=self.http_error, text="Service Unavailable")
        if self.fail_next:
            return _envelope(self.fail_next.pop(0), None)
        if request.match_info["key"] != self.api_key:
            return _envelope(403, None)
        handler = {
            ("sms", "send"): self._send,
            ("sms", "sendarray"): self._sendarray,
            ("verify", "lookup"): self._lookup,
            ("sms", "status"): self._status,
            ("sms", "statuslocalmessageid"): self._status_local,
            ("sms", "receive"): self._receive,
            ("account", "info"): self._info,
        }.get((scope, method))
        if handler is None:
            return _envelope(404, None)
        if self.drop_next:
            self.drop_next -= 1
            assert request.transport is not None
            request.transport.abort()  # cut before anything was taken
            return _envelope(500, None)
        if self.no_credit and (scope, method) in SENDS:
            return _envelope(418, None)
        if (
            self.credit_sms is not None
            and (scope, method) in SENDS
            and len(self.accepted) >= self.credit_sms
        ):
            return _envelope(418, None)
        status, entries = handler({k: v[0] for k, v in form.items()}, form)
        if self.cut_next:
            self.cut_next -= 1
            assert request.transport is not None
            request.transport.abort()  # taken, and the answer never leaves
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.garble_next:
            self.garble_next -= 1
            return garbled(self.garble, "kavenegar")
        return _envelope(status, entries)

    def _accept(
        self, receptor: str, sender: str, message: str, localid: str | None, template: str | None
    ) -> dict[str, Any]:
        sms = self._by_localid.get(localid) if localid else None
        if sms is None:
            sms = AcceptedSms(next(self._ids), receptor, sender, message, localid, 1, template)
            self.accepted.append(sms)
            if localid:
                self._by_localid[localid] = sms
        return self._entry(sms)

    def _entry(self, sms: AcceptedSms) -> dict[str, Any]:
        return {
            "messageid": sms.messageid, "message": sms.message, "status": sms.status,
            "statustext": STATUS_TEXT.get(sms.status, ""), "sender": sms.sender,
            "receptor": sms.receptor, "date": int(time.time()), "cost": self.cost,
        }  # fmt: skip

    def _check_receptors(self, receptors: list[str]) -> int:
        for r in receptors:
            if r in self.bad_receptors:
                return self.bad_receptors[r]
            if not (r.isdecimal() and len(r) >= 10):
                return 411
        return 200

    def _send(self, f: dict[str, str], _all: dict[str, list[str]]) -> tuple[int, Any]:
        if not f.get("receptor") or not f.get("message"):
            return 400, None
        receptors = f["receptor"].split(",")
        localids = f["localid"].split(",") if f.get("localid") else [None] * len(receptors)
        if len(localids) != len(receptors):
            return 419, None
        if (bad := self._check_receptors(receptors)) != 200:
            return bad, None
        sender = f.get("sender", "10004346")
        return 200, [
            self._accept(r, sender, f["message"], lid, None)
            for r, lid in zip(receptors, localids, strict=True)
        ]

    def _sendarray(self, _f: dict[str, str], form: dict[str, list[str]]) -> tuple[int, Any]:
        try:
            receptors = _array(form, "receptor")
            senders = _array(form, "sender")
            messages = _array(form, "message")
            localids = _array(form, "localmessageids") if "localmessageids" in form else None
        except (KeyError, ValueError):
            return 400, None
        if len(receptors) > 200:
            return 414, None
        sizes = {len(receptors), len(senders), len(messages), len(localids or receptors)}
        if len(sizes) != 1:
            return 419, None
        if (bad := self._check_receptors(receptors)) != 200:
            return bad, None
        lids: list[str | None] = list(localids) if localids else [None] * len(receptors)
        return 200, [
            self._accept(r, s, m, lid, None)
            for r, s, m, lid in zip(receptors, senders, messages, lids, strict=True)
        ]

    def _lookup(self, f: dict[str, str], _all: dict[str, list[str]]) -> tuple[int, Any]:
        if not f.get("receptor") or not f.get("template") or not f.get("token"):
            return 400, None
        text = self.templates.get(f["template"])
        if text is None:
            return 424, None
        tokens = {k: f[k] for k in ("token", "token2", "token3") if f.get(k)}
        if any(c.isspace() or c == "_" for v in tokens.values() for c in v):
            return 431, None
        if (bad := self._check_receptors([f["receptor"]])) != 200:
            return bad, None
        for name in ("token3", "token2", "token"):  # longest names first: %token2 before %token
            text = text.replace(f"%{name}", tokens.get(name, ""))
        return 200, [self._accept(f["receptor"], "10008663", text, None, f["template"])]

    def _status(self, f: dict[str, str], _all: dict[str, list[str]]) -> tuple[int, Any]:
        by_id = {str(s.messageid): s for s in self.accepted}
        out = []
        for mid in filter(None, f.get("messageid", "").split(",")):
            sms = by_id.get(mid)
            code = sms.status if sms else 100
            out.append(
                {"messageid": int(mid), "status": code, "statustext": STATUS_TEXT.get(code, "")}
            )
        return 200, out

    def _status_local(self, f: dict[str, str], _all: dict[str, list[str]]) -> tuple[int, Any]:
        out = []
        for lid in filter(None, f.get("localid", "").split(",")):
            sms = self._by_localid.get(lid)
            code = sms.status if sms else 100
            out.append(
                {"messageid": sms.messageid if sms else 0, "localid": lid, "status": code,
                 "statustext": STATUS_TEXT.get(code, "")}
            )  # fmt: skip
        return 200, out

    def _receive(self, f: dict[str, str], _all: dict[str, list[str]]) -> tuple[int, Any]:
        if not f.get("linenumber") or f.get("isread") not in ("0", "1"):
            return 400, None
        unread = f["isread"] == "0"
        picked = [
            m for m in self.inbound if m["receptor"] == f["linenumber"] and m["read"] != unread
        ]
        for m in picked:
            m["read"] = True
        return 200, [{k: v for k, v in m.items() if k != "read"} for m in picked]

    def _info(self, _f: dict[str, str], _all: dict[str, list[str]]) -> tuple[int, Any]:
        credit = 0 if self.no_credit else 1_000_000
        return 200, {"remaincredit": credit, "expiredate": 1893456000, "type": "Master"}


def _array(form: dict[str, list[str]], name: str) -> list[str]:
    """Arrays come JSON-encoded in one field (as the SDKs send them) or as repeated fields."""
    values = form[name]
    if len(values) == 1:
        decoded = json.loads(values[0])
        if not isinstance(decoded, list):
            raise ValueError(name)
        return [str(v) for v in decoded]
    return values


# Answers that are no provider's envelope, as a proxy, a captive portal or a broken deploy gives.
GARBLED: dict[str, tuple[int, str, str]] = {
    "html": (200, "<html><body>Welcome</body></html>", "text/html"),
    "empty": (200, "", "application/json"),
    "no-envelope": (200, '{"ok": true}', "application/json"),
    "bad-status": (200, "", "application/json"),  # the provider's own shape, status a word
    "bad-entries": (200, "", "application/json"),  # success, its data of the wrong shape
    "502": (502, "<html>Bad Gateway</html>", "text/html"),
}


def garbled(kind: str, provider: str) -> web.Response:
    status, body, content_type = GARBLED[kind]
    if kind == "bad-status":
        body = (
            '{"return": {"status": "OK", "message": "ok"}, "entries": []}'
            if provider == "kavenegar"
            else '{"status": "OK", "message": "ok", "data": null}'
        )
    elif kind == "bad-entries":
        body = (
            '{"return": {"status": 200, "message": "ok"}, "entries": "done"}'
            if provider == "kavenegar"
            else '{"status": 1, "message": "ok", "data": {"packId": "x"}}'
        )
    return web.Response(status=status, text=body, content_type=content_type)


def _envelope(status: int, entries: Any) -> web.Response:
    message = "تایید شد" if status == 200 else "خطا"
    body = json.dumps({"return": {"status": status, "message": message}, "entries": entries})
    return web.Response(status=status, text=body, content_type="application/json")
