"""sms.ir over its REST API v1 with aiohttp.

`{base}/v1/…` with the key in the `X-API-KEY` header and JSON bodies; every answer is
`{"status": 1, "message": "…", "data": …}`. sms.ir has no local id: a resend after a lost answer
would be a second SMS. What it took is found instead in its send reports (`send/live` for today,
`send/archive` for a date range), which list each message's mobile, text and send time.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any

import aiohttp

from providers.base import (
    AmbiguousError,
    ClockSkew,
    DeliveryReport,
    DeliveryState,
    Handed,
    InboundSms,
    OutgoingSms,
    PermanentError,
    ProviderError,
    Reconciled,
    SendResult,
    Verdict,
    canonical_msisdn,
    in_turn,
    make_error,
    malformed,
    one_by_one,
    rejected,
    require_fields,
)
from providers.http import client_timeout, no_envelope, strict_int, transport_error
from providers.ratelimit import TokenBucket
from providers.smsir_codes import OK, delivery_state, error_kind, http_kind
from sessions.normalize import digits_only

log = logging.getLogger("dargah.providers.smsir")

MAX_SEND = 100  # mobiles (or texts) per bulk/likeToLike call
REPORT_PAGE = 100  # messages per page of a send report
REPORT_PAGES = 50  # pages read at most per report: past that it cannot prove anything absent
# A message and its report entry are matched by mobile and exact text, sent this close in time.
MATCH_WINDOW_S = 300.0
# A send this recent may not be in the reports yet: its absence proves nothing.
SETTLE_S = 20.0
# sms.ir's clock (its Date header) this far from ours makes matching by time unsafe.
MAX_SKEW_S = 150.0


class SmsIrProvider:
    name = "smsir"
    max_batch = MAX_SEND
    # No local id: two identical texts to one number in flight at once could not be told apart
    # in its reports, so the dispatcher sends such twins one at a time.
    tells_twins_apart = False

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        sender: str,
        base_url: str,
        timeout: float,
        limiter: TokenBucket | None = None,
        verify_templates: Mapping[str, str] | None = None,
    ) -> None:
        self._session = session
        self._headers = {"X-API-KEY": api_key, "Accept": "application/json"}
        self._line: int | str = int(sender) if sender.isdecimal() else sender
        self._base = base_url.rstrip("/")
        self._timeout = client_timeout(timeout)
        self._limiter = limiter
        self._verify_templates = dict(verify_templates or {})
        self.last_date: float | None = None  # sms.ir's clock, from its last answer's Date header
        self.clock_skew_s: float | None = None

    async def _call(self, http_method: str, path: str, body: Any = None) -> Any:
        """The `data` of a successful answer; a classified ProviderError otherwise."""
        try:
            async with self._session.request(
                http_method,
                f"{self._base}/v1/{path}",
                json=body,
                headers=self._headers,
                timeout=self._timeout,
            ) as resp:
                http_status, text = resp.status, await resp.text()
                date = resp.headers.get("Date")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise transport_error(exc, path, self.name) from None
        self.last_date = _header_time(date)
        try:
            answer = json.loads(text)
            status, message = strict_int(answer["status"]), str(answer.get("message", ""))
        except (ValueError, TypeError, KeyError):
            kind = http_kind(http_status)
            code = f"http_{http_status}"
            raise no_envelope(http_status, path, self.name, kind, code) from None
        if status == OK and 200 <= http_status < 300:
            return answer.get("data")
        if status == OK:  # success in the envelope, not in HTTP: nothing is proved either way
            raise AmbiguousError(f"http_{http_status}", f"{path}: success with an error", self.name)
        log.warning("smsir %s failed: status %s (http %s)", path, status, http_status)
        raise make_error(error_kind(status), str(status), f"{path}: {message}", self.name)

    # --- sending ---------------------------------------------------------------------------

    async def send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        if len(messages) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} messages per call")
        if self._limiter is not None:
            await self._limiter.acquire(len(messages))
        verify = [m for m in messages if self._template_for(m) is not None]
        plain = [m for m in messages if self._template_for(m) is None]
        calls: list[tuple[Sequence[OutgoingSms], Callable[[], Awaitable[dict[str, SendResult]]]]]
        calls = [(plain, partial(self._send_plain, plain))] if plain else []
        calls += [([m], partial(self._send_verify, m)) for m in verify]
        results = await in_turn(calls)
        return [results[m.local_id] for m in messages]

    async def _send_plain(self, msgs: Sequence[OutgoingSms]) -> dict[str, SendResult]:
        texts = {m.text for m in msgs}
        body: dict[str, Any] = {"lineNumber": self._line, "mobiles": [m.receptor for m in msgs]}
        if len(texts) == 1:
            path, body["messageText"] = "send/bulk", msgs[0].text
        else:
            path, body["messageTexts"] = "send/likeToLike", [m.text for m in msgs]
        body["sendDateTime"] = None  # now
        try:
            data = await self._call("POST", path, body)
        except ProviderError as exc:
            if exc.kind != "permanent" or len(msgs) == 1:
                raise
            return await one_by_one(self._send_plain, msgs)
        ids = data.get("messageIds") if isinstance(data, dict) else None
        if not isinstance(ids, list) or len(ids) != len(msgs):
            # A success that does not say which messages it took: each one's outcome is unknown.
            raise AmbiguousError("data", f"{path}: success without its message ids", self.name)
        cost = data.get("cost") if isinstance(data, dict) else None
        out = {}
        for m, mid in zip(msgs, ids, strict=True):
            if mid == 0 and not isinstance(mid, bool):  # sms.ir's mark for a blacklisted receptor
                out[m.local_id] = rejected(m, PermanentError("115", "blacklisted", self.name))
            elif mid is None:  # an invalid number or text
                out[m.local_id] = rejected(m, PermanentError("104", "not accepted", self.name))
            elif isinstance(mid, int | str) and str(mid).isdecimal():
                each = _cost(cost) if len(msgs) == 1 else None
                out[m.local_id] = SendResult(m.local_id, str(mid), DeliveryState.QUEUED, each, "1")
            else:
                unread = AmbiguousError("data", f"{path}: unreadable message id", self.name)
                out[m.local_id] = rejected(m, unread)
        return out

    def _template_for(self, msg: OutgoingSms) -> str | None:
        """The sms.ir template id for a code: its own, else the one configured for its
        purpose. sms.ir templates are numeric; anything else goes out as the rendered text."""
        if msg.otp is None:
            return None
        template = msg.otp.template or self._verify_templates.get(msg.otp.purpose, "")
        return template if template.isdecimal() else None

    async def _send_verify(self, msg: OutgoingSms) -> dict[str, SendResult]:
        assert msg.otp is not None
        # The sms.ir template names its parameters #token#, #token2#, #token3#.
        params = [{"name": k, "value": v} for k, v in msg.otp.tokens().items()]
        template = int(self._template_for(msg) or 0)
        body = {"mobile": msg.receptor, "templateId": template, "parameters": params}
        try:
            data = await self._call("POST", "send/verify", body)
        except ProviderError as exc:
            if exc.kind != "permanent":
                raise
            return {msg.local_id: rejected(msg, exc)}
        mid = data.get("messageId") if isinstance(data, dict) else None
        if not isinstance(mid, int | str) or isinstance(mid, bool) or not str(mid).isdecimal():
            raise AmbiguousError("data", "send/verify: success without its message id", self.name)
        cost = data.get("cost") if isinstance(data, dict) else None
        return {
            msg.local_id: SendResult(msg.local_id, str(mid), DeliveryState.QUEUED, _cost(cost), "1")
        }

    # --- reports ---------------------------------------------------------------------------

    async def query_status(self, provider_message_ids: Sequence[str]) -> list[DeliveryReport]:
        reports = []
        for mid in provider_message_ids:
            try:
                data = await self._call("GET", f"send/{mid}")
            except PermanentError as exc:
                if exc.code != "111":  # 111: no send with this id
                    raise
                reports.append(DeliveryReport(mid, DeliveryState.UNKNOWN, "111"))
                continue
            code = data.get("deliveryState") if isinstance(data, dict) else None
            try:
                state = delivery_state(strict_int(code) if code is not None else None)
            except ValueError:
                continue  # unreadable: says nothing about it
            reports.append(DeliveryReport(mid, state, str(code)))
        return reports

    async def reconcile(
        self, items: Sequence[Handed], known_ids: frozenset[str], now: float
    ) -> list[Reconciled]:
        """Each lost send is looked for in the send reports around its time, by mobile and exact
        text. One entry not already known to the gateway: accepted. None, and no other entry to
        that number that the gateway cannot account for, in reports read to their end: never
        taken. Anything else stays unknown: two identical texts to one number cannot be told
        apart, and a verify send's text is the template's, not ours."""
        found: dict[str, Reconciled] = {
            i.local_id: Reconciled(i.local_id, Verdict.UNKNOWN) for i in items
        }
        asked = [i for i in items if not i.otp and now - i.handed_at >= SETTLE_S]
        if not asked:
            return [found[i.local_id] for i in items]
        since = min(i.handed_at for i in asked) - MATCH_WINDOW_S
        until = max(i.handed_at for i in asked) + MATCH_WINDOW_S
        entries, complete = await self._sent_between(since, until, now)
        twins = Counter((i.receptor, i.text) for i in asked)
        for item in asked:
            matches = [
                e
                for e in entries
                if e[1] == item.receptor
                and e[2] == item.text
                and abs(e[3] - item.handed_at) <= MATCH_WINDOW_S
                and e[0] not in known_ids
            ]
            if twins[(item.receptor, item.text)] > 1 or len(matches) > 1:
                continue
            if matches:
                mid, state = matches[0][0], delivery_state(matches[0][4])
                found[item.local_id] = Reconciled(
                    item.local_id, Verdict.ACCEPTED, mid, state, str(matches[0][4])
                )
                continue
            # Absent only if nothing unexplained went to that number around then: a report may
            # list a text not quite as sent (a suffix, characters replaced), and that entry may
            # be this very message.
            unexplained = any(
                e[1] == item.receptor
                and abs(e[3] - item.handed_at) <= MATCH_WINDOW_S
                and e[0] not in known_ids
                for e in entries
            )
            if complete and not unexplained:
                found[item.local_id] = Reconciled(item.local_id, Verdict.ABSENT)
        return [found[i.local_id] for i in items]

    async def _sent_between(
        self, since: float, until: float, now: float
    ) -> tuple[list[tuple[str, str, str, float, int | None]], bool]:
        """(message id, mobile, text, send time, delivery state) of what the account sent in the
        window, from today's report and the archive together (where a day ends is sms.ir's), and
        whether both were read to their end."""
        rows: dict[str, tuple[str, str, str, float, int | None]] = {}
        complete = True
        archive = f"send/archive?fromDate={int(since)}&toDate={int(until) + 1}&"
        for path in ("send/live?", archive):
            for page in range(1, REPORT_PAGES + 1):
                data = await self._call("GET", f"{path}pageNumber={page}&pageSize={REPORT_PAGE}")
                self._check_clock(now)
                if not isinstance(data, list):
                    raise AmbiguousError("data", f"{path}: a report of another shape", self.name)
                for r in data:
                    row = _report_row(r) if isinstance(r, dict) else None
                    if row is None:
                        complete = False  # an entry that cannot be read may be the one sought
                    elif since <= row[3] <= until:
                        rows[row[0]] = row
                if len(data) < REPORT_PAGE:
                    break
            else:
                complete = False
        return list(rows.values()), complete

    def _check_clock(self, now: float) -> None:
        """Matching compares our send times with sms.ir's: past MAX_SKEW_S apart, the window
        could miss a message (and prove it absent) or catch another one."""
        if self.last_date is None:
            return  # no Date header: nothing to compare; the window's margin stands
        skew = self.last_date - now
        self.clock_skew_s = skew
        if abs(skew) > MAX_SKEW_S:
            raise ClockSkew(skew, self.name)

    def parse_status_callback(self, fields: Mapping[str, str]) -> list[DeliveryReport]:
        # Field names follow the report (GET /v1/send/{id}); sms.ir's push format is unconfirmed.
        f = require_fields(fields, "messageId", "deliveryState")
        bad = [n for n in ("messageId", "deliveryState") if not f[n].isdecimal()]
        if bad:
            raise malformed(*bad)
        code = int(f["deliveryState"])
        return [DeliveryReport(f["messageId"], delivery_state(code), str(code))]

    # --- inbound ---------------------------------------------------------------------------

    def parse_inbound(self, fields: Mapping[str, str]) -> InboundSms:
        # Field names follow the receive reports (mobile = sender, number = our line).
        # A sender that is not a mobile (a short code, a landline) is kept as given: the gateway
        # takes the message and answers nothing, so the provider stops retrying.
        f = require_fields(fields, "mobile", "number", "receiveReturnId")
        sender = _sender(f["mobile"])
        return InboundSms(f["receiveReturnId"], sender, f["number"], fields.get("messageText", ""))

    async def receive_unread(self, line_number: str) -> list[InboundSms]:
        """GET receive/latest: each inbound SMS is handed over once, then marked read."""
        data = await self._call("GET", "receive/latest?count=100")
        inbound = []
        for r in data or []:
            if line_number and str(r.get("number")) != str(line_number):
                continue
            sender = _sender(str(r.get("mobile", "")))
            inbound.append(
                InboundSms(
                    str(r.get("receiveReturnId", "")),
                    sender,
                    str(r.get("number")),
                    str(r.get("messageText", "")),
                )
            )
        return inbound

    # --- account ---------------------------------------------------------------------------

    async def account_ok(self) -> bool:
        try:
            credit = await self._call("GET", "credit")
        except ProviderError as exc:
            log.warning("smsir account check failed: %s", exc)
            return False
        return not isinstance(credit, int | float) or credit > 0

    async def close(self) -> None:
        return None


def _report_row(r: Mapping[str, Any]) -> tuple[str, str, str, float, int | None] | None:
    try:
        mobile = canonical_msisdn(str(r.get("mobile", "")))
        state = r.get("deliveryState")
        return (
            str(r["messageId"]),
            mobile,
            str(r.get("messageText", "")),
            float(r["sendDateTime"]),
            int(state) if state is not None else None,
        )
    except (KeyError, TypeError, ValueError):
        return None  # an entry that cannot be matched proves nothing either way


def _header_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _cost(value: Any) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(value)
    return None


def _sender(raw: str) -> str:
    """09xxxxxxxxx for a mobile; any other sender (a short code, a landline) in normalised
    digits, for the gateway to take and leave unanswered."""
    try:
        return canonical_msisdn(raw)
    except ValueError:
        return digits_only(raw) or raw.strip()
