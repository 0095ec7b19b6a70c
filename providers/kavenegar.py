"""Kavenegar over its REST API with aiohttp (the SDK is synchronous, has no timeout, leaks the key).

`{base}/v1/{API_KEY}/{scope}/{method}.json`, form-encoded POST; every answer is
`{"return": {"status": …, "message": …}, "entries": …}` with HTTP status == return.status.
The URL carries the key: it is never logged and never put into an exception.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

import aiohttp

from providers.base import (
    AmbiguousError,
    DeliveryReport,
    Handed,
    InboundSms,
    OutgoingSms,
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
from providers.kavenegar_codes import UNKNOWN_ID, error_kind, message_state
from providers.ratelimit import TokenBucket
from sessions.normalize import digits_only

log = logging.getLogger("dargah.providers.kavenegar")

MAX_SEND = 200  # sms/sendarray records per call
MAX_QUERY = 500  # sms/status ids per call
# Kavenegar keeps a message's status for 48 hours: past that, "unknown id" no longer proves that it
# never took the message.
STATUS_KEPT_S = 47 * 3600


class KavenegarProvider:
    name = "kavenegar"
    max_batch = MAX_SEND
    tells_twins_apart = True  # by the local id

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        sender: str,
        base_url: str,
        timeout: float,
        verify_template: str = "",
        limiter: TokenBucket | None = None,
        verify_templates: Mapping[str, str] | None = None,
    ) -> None:
        self._session = session
        self._key = api_key
        self._sender = sender
        self._base = base_url.rstrip("/")
        self._timeout = client_timeout(timeout)
        self._verify_template = verify_template
        self._verify_templates = dict(verify_templates or {})
        self._limiter = limiter

    async def _call(self, scope: str, method: str, data: Mapping[str, str]) -> Any:
        """The `entries` of a successful call; a classified ProviderError otherwise."""
        where = f"{scope}/{method}"
        url = f"{self._base}/v1/{self._key}/{scope}/{method}.json"
        try:
            async with self._session.post(url, data=dict(data), timeout=self._timeout) as resp:
                http_status, body = resp.status, await resp.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise transport_error(exc, where, self.name) from None
        try:
            answer = json.loads(body)
            ret = answer["return"]
            status, message = strict_int(ret["status"]), str(ret.get("message", ""))
        except (ValueError, TypeError, KeyError):
            kind = error_kind(http_status)
            raise no_envelope(http_status, where, self.name, kind, str(http_status)) from None
        if status == 200 and http_status == 200:
            return answer.get("entries")
        if status == 200:  # success in the envelope, not in HTTP: nothing is proved either way
            raise AmbiguousError(
                str(http_status), f"{where}: success with http {http_status}", self.name
            )
        log.warning("kavenegar %s failed: status %s", where, status)
        raise make_error(error_kind(status), str(status), f"{where}: {message}", self.name)

    # --- sending ---------------------------------------------------------------------------

    def _template_for(self, msg: OutgoingSms) -> str | None:
        if msg.otp is None:
            return None
        by_purpose = self._verify_templates.get(msg.otp.purpose, "")
        return msg.otp.template or by_purpose or self._verify_template or None

    async def send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        if len(messages) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} messages per call")
        if self._limiter is not None:
            await self._limiter.acquire(len(messages))
        plain = [m for m in messages if self._template_for(m) is None]
        lookups = [m for m in messages if self._template_for(m) is not None]
        calls: list[tuple[Sequence[OutgoingSms], Callable[[], Awaitable[dict[str, SendResult]]]]]
        calls = [(plain, partial(self._send_plain, plain))] if plain else []
        calls += [([m], partial(self._send_lookup, m)) for m in lookups]
        results = await in_turn(calls)
        return [results[m.local_id] for m in messages]

    async def _send_plain(self, msgs: Sequence[OutgoingSms]) -> dict[str, SendResult]:
        try:
            if len(msgs) == 1:
                m = msgs[0]
                data = {"receptor": m.receptor, "message": m.text, "localid": m.local_id}
                entries = await self._call("sms", "send", self._with_sender(data))
            else:
                entries = await self._call("sms", "sendarray", self._array_form(msgs))
        except ProviderError as exc:
            if exc.kind != "permanent" or len(msgs) == 1:
                raise
            return await one_by_one(self._send_plain, msgs)
        return _match_entries(msgs, entries)

    def _with_sender(self, data: dict[str, str]) -> dict[str, str]:
        # An empty sender lets Kavenegar use the account's default line.
        return {**data, "sender": self._sender} if self._sender else data

    def _array_form(self, msgs: Sequence[OutgoingSms]) -> dict[str, str]:
        return {
            "receptor": json.dumps([m.receptor for m in msgs]),
            "sender": json.dumps([self._sender for _ in msgs]),
            "message": json.dumps([m.text for m in msgs], ensure_ascii=False),
            "localmessageids": json.dumps([m.local_id for m in msgs]),
        }

    async def _send_lookup(self, msg: OutgoingSms) -> dict[str, SendResult]:
        assert msg.otp is not None
        data = {"receptor": msg.receptor, "template": self._template_for(msg) or ""}
        data.update(msg.otp.tokens())
        if msg.otp.voice:
            data["type"] = "call"  # the code read out in a call, on Kavenegar's voice route
        try:
            entries = await self._call("verify", "lookup", data)
        except ProviderError as exc:
            if exc.kind != "permanent":
                raise
            return {msg.local_id: rejected(msg, exc)}
        return _match_entries([msg], entries)

    # --- reports ---------------------------------------------------------------------------

    async def query_status(self, provider_message_ids: Sequence[str]) -> list[DeliveryReport]:
        reports: list[DeliveryReport] = []
        ids = list(provider_message_ids)
        for i in range(0, len(ids), MAX_QUERY):
            chunk = ids[i : i + MAX_QUERY]
            entries = await self._call("sms", "status", {"messageid": ",".join(chunk)})
            reports.extend(r for e in _entry_list(entries) if (r := _report(e)) is not None)
        return reports

    async def reconcile(
        self, items: Sequence[Handed], known_ids: frozenset[str], now: float
    ) -> list[Reconciled]:
        """By our local ids (`sms/statuslocalmessageid`): a message Kavenegar took has its id
        and status; an id it does not know was never taken. A `verify/lookup` carries no local
        id, and a status older than Kavenegar keeps proves nothing: both stay unknown."""
        verdicts = {i.local_id: Reconciled(i.local_id, Verdict.UNKNOWN) for i in items}
        asked = [i.local_id for i in items if not i.otp and now - i.handed_at < STATUS_KEPT_S]
        for start in range(0, len(asked), MAX_QUERY):
            chunk = asked[start : start + MAX_QUERY]
            entries = await self._call("sms", "statuslocalmessageid", {"localid": ",".join(chunk)})
            for e in _entry_list(entries):
                local = str(e.get("localid") or "")
                try:
                    code = strict_int(e.get("status"))
                except ValueError:
                    continue  # unreadable: proves nothing, the message stays unknown
                if local not in verdicts:
                    continue
                if code == UNKNOWN_ID:
                    verdicts[local] = Reconciled(local, Verdict.ABSENT, provider_status=str(code))
                elif e.get("messageid") and str(e["messageid"]).isdecimal():
                    verdicts[local] = Reconciled(
                        local, Verdict.ACCEPTED, str(e["messageid"]), message_state(code), str(code)
                    )
        return [verdicts[i.local_id] for i in items]

    def parse_status_callback(self, fields: Mapping[str, str]) -> list[DeliveryReport]:
        f = require_fields(fields, "messageid", "status")
        bad = [n for n in ("messageid", "status") if not f[n].isdecimal()]
        if bad:
            raise malformed(*bad)
        local = (fields.get("localid") or "").strip() or None
        code = int(f["status"])
        return [DeliveryReport(f["messageid"], message_state(code), str(code), local)]

    # --- inbound ---------------------------------------------------------------------------

    def parse_inbound(self, fields: Mapping[str, str]) -> InboundSms:
        # An empty SMS is still a message (it gets the help text); only the ids are required.
        # A sender that is not a mobile (a short code, a landline) is kept as given: the gateway
        # takes the message and answers nothing, so the provider stops retrying.
        f = require_fields(fields, "from", "to", "messageid")
        return InboundSms(f["messageid"], _sender(f["from"]), f["to"], fields.get("message", ""))

    async def receive_unread(self, line_number: str) -> list[InboundSms]:
        """sms/receive with isread=0: Kavenegar marks what it returns as read."""
        entries = await self._call("sms", "receive", {"linenumber": line_number, "isread": "0"})
        inbound = []
        for e in _entry_list(entries):
            sender = _sender(str(e.get("sender", "")))
            receiver = str(e.get("receptor", line_number))
            inbound.append(InboundSms(str(e["messageid"]), sender, receiver, str(e["message"])))
        return inbound

    # --- account ---------------------------------------------------------------------------

    async def account_ok(self) -> bool:
        try:
            entries = await self._call("account", "info", {})
        except ProviderError as exc:
            log.warning("kavenegar account check failed: %s", exc)
            return False
        info = entries if isinstance(entries, dict) else {}
        credit = info.get("remaincredit")
        return credit is None or float(credit) > 0

    async def close(self) -> None:
        return None  # the pooled session belongs to the application


def _entry_list(entries: Any) -> list[dict[str, Any]]:
    if isinstance(entries, dict):
        return [entries]
    if isinstance(entries, list):
        return [e for e in entries if isinstance(e, dict)]
    # A success whose entries are of another shape: what it took cannot be read from it.
    raise AmbiguousError("entries", "success with unreadable entries", "kavenegar")


def _report(e: Mapping[str, Any]) -> DeliveryReport | None:
    try:
        code = strict_int(e.get("status", 100))
    except ValueError:
        return None  # an entry that cannot be read says nothing
    local = e.get("localid")
    return DeliveryReport(
        str(e.get("messageid", "")), message_state(code), str(code), str(local) if local else None
    )


def _match_entries(msgs: Sequence[OutgoingSms], entries: Any) -> dict[str, SendResult]:
    """Kavenegar answers one entry per receptor, in request order. A success that does not list
    a message (or lists it unreadably) leaves that message's outcome unknown, never refused."""
    listed = _entry_list(entries)
    out: dict[str, SendResult] = {}
    for i, m in enumerate(msgs):
        try:
            e = listed[i]
            code = strict_int(e.get("status"))
            mid = strict_int(e.get("messageid"))
            cost = e.get("cost")
            out[m.local_id] = SendResult(
                m.local_id,
                str(mid) if mid else None,
                message_state(code),
                int(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
                str(code),
            )
        except (IndexError, ValueError):
            err = AmbiguousError("no_entry", "success without a readable entry for it", "kavenegar")
            out[m.local_id] = rejected(m, err)
    return out


def _sender(raw: str) -> str:
    """09xxxxxxxxx for a mobile; any other sender (a short code, a landline) in normalised
    digits, for the gateway to take and leave unanswered."""
    try:
        return canonical_msisdn(raw)
    except ValueError:
        return digits_only(raw) or raw.strip()
