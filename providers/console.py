"""The offline provider (the default): keeps what it "sends" in memory and logs it, masked.

Good for the demo, development and tests; nothing leaves the machine. Given an `Inbox`, it also
keeps each text it took, sealed, for the web phone's SMS inbox (gateway/routes/simulator.py).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from providers.base import (
    DeliveryReport,
    DeliveryState,
    Handed,
    InboundSms,
    OutgoingSms,
    Reconciled,
    SendResult,
    Verdict,
    canonical_msisdn,
    malformed,
    require_fields,
    safe_preview,
)
from sessions.masking import mask_msisdn
from sessions.ports import ConsoleInboxStore, ConsoleSms
from sessions.sealing import SealBroken, Sealer

log = logging.getLogger("dargah.providers.console")


class Inbox:
    """Where the console provider keeps the texts it took, in full but sealed, for a day: the
    one place a demo's passwords and codes can be read (the outbox masks them once final)."""

    KEEP_S = 24 * 3600.0

    def __init__(
        self, store: ConsoleInboxStore, sealer: Sealer, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._sealer = sealer
        self._clock = clock

    async def keep(self, messages: Sequence[tuple[OutgoingSms, str]]) -> None:
        now = self._clock()
        rows = [
            ConsoleSms(m.receptor, m.local_id, mid, self._sealer.seal(m.text), now)
            for m, mid in messages
        ]
        await self._store.keep_console_sms(rows, now - self.KEEP_S)

    async def read(self, recipient: str, limit: int = 20) -> list[tuple[float, str]]:
        """(received at, text) of the newest texts to `recipient`, newest first."""
        found = []
        for row in await self._store.console_sms(recipient, limit):
            try:
                found.append((row.received_at, self._sealer.open(row.sealed)))
            except SealBroken:  # sealed under a key no longer configured: not shown
                continue
        return found


class ConsoleProvider:
    name = "console"
    max_batch = 200
    tells_twins_apart = True  # by the local id

    def __init__(self, inbox: Inbox | None = None) -> None:
        self.sent: list[OutgoingSms] = []
        self._ids = itertools.count(1)
        self._by_local: dict[str, str] = {}
        self._inbox = inbox

    async def send(self, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        results = []
        taken: list[tuple[OutgoingSms, str]] = []
        for msg in messages:
            # Same local id, same message: a resend is not a second SMS here either.
            mid = self._by_local.get(msg.local_id)
            if mid is None:
                mid = f"console-{next(self._ids)}"
                self._by_local[msg.local_id] = mid
                self.sent.append(msg)
                taken.append((msg, mid))
                # A template message carries codes: log its name, never its tokens or text.
                shown = f"[template {msg.otp.template}]" if msg.otp else safe_preview(msg.text)
                log.info(
                    "console sms %s to %s (local_id=%s): %s",
                    mid,
                    mask_msisdn(msg.receptor),
                    msg.local_id,
                    shown,
                )
            results.append(SendResult(msg.local_id, mid, DeliveryState.SENT, 0, "sent"))
        if taken and self._inbox is not None:
            try:
                await self._inbox.keep(taken)
            except Exception:  # the inbox is a convenience: the messages were taken all the same
                log.exception("console inbox: %d texts not kept", len(taken))
        return results

    async def reconcile(
        self, items: Sequence[Handed], known_ids: frozenset[str], now: float
    ) -> list[Reconciled]:
        """It knows every local id it took."""
        verdicts = []
        for item in items:
            mid = self._by_local.get(item.local_id)
            if mid is None:
                verdicts.append(Reconciled(item.local_id, Verdict.ABSENT))
            else:
                verdicts.append(
                    Reconciled(item.local_id, Verdict.ACCEPTED, mid, DeliveryState.SENT, "sent")
                )
        return verdicts

    async def query_status(self, provider_message_ids: Sequence[str]) -> list[DeliveryReport]:
        known = set(self._by_local.values())
        return [
            DeliveryReport(
                mid,
                DeliveryState.DELIVERED if mid in known else DeliveryState.UNKNOWN,
                "delivered" if mid in known else "unknown",
            )
            for mid in provider_message_ids
        ]

    def parse_status_callback(self, fields: Mapping[str, str]) -> list[DeliveryReport]:
        f = require_fields(fields, "messageid", "status")
        try:
            state = DeliveryState(f["status"])
        except ValueError:
            raise malformed("status") from None
        return [DeliveryReport(f["messageid"], state, f["status"])]

    def parse_inbound(self, fields: Mapping[str, str]) -> InboundSms:
        f = require_fields(fields, "from", "to", "message", "messageid")
        try:
            sender = canonical_msisdn(f["from"])
        except ValueError:
            raise malformed("from") from None
        return InboundSms(f["messageid"], sender, f["to"], fields["message"])

    async def account_ok(self) -> bool:
        return True

    async def close(self) -> None:
        return None
