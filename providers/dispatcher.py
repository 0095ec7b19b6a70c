"""The dispatcher: claims due outbox messages, sends them in batches, records what became of them.

One pass (`run_once`) leases up to `dispatch_batch` due messages (OTP first), sends them in chunks
of the provider's `max_batch`, and writes each chunk's outcomes in one transaction. Nothing is lost:
a pass that dies after the provider answered leaves its messages `sending`; when the lease runs out
they are claimed again and resent with the same local id, which the provider deduplicates.
`poll_once` asks providers about sent messages whose delivery report did not come.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence

from providers import outbox
from providers.base import (
    DeliveryState,
    LocalStatus,
    OutgoingSms,
    Provider,
    ProviderError,
    RetryableError,
    SendResult,
)
from providers.config import DispatchConfig
from providers.retry import retrying
from sessions.ports import ClaimedSms, DispatchStore, SendOutcome

log = logging.getLogger("dargah.dispatcher")

POLL_LIMIT = 500  # message ids asked about per poll pass


class Dispatcher:
    def __init__(
        self,
        store: DispatchStore,
        primary: Provider,
        config: DispatchConfig,
        *,
        fallback: Provider | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._primary = primary
        self._fallback = fallback if fallback is not None and fallback is not primary else None
        self._config = config
        self._clock = clock
        self._rng = rng
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self.providers: dict[str, Provider] = {primary.name: primary}
        if self._fallback is not None:
            self.providers[self._fallback.name] = self._fallback

    # --- one pass --------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Sends what is due now; returns how many messages were claimed."""
        c = self._config
        claims = await self._store.claim_due(self._clock(), c.batch, c.lease_s)
        size = self._primary.max_batch
        # A claim larger than one provider call keeps its calls in flight together: against a
        # provider that answers in 50 ms, that is what lifts throughput past one call at a time.
        await asyncio.gather(
            *(self._deliver_chunk(claims[i : i + size]) for i in range(0, len(claims), size))
        )
        return len(claims)

    async def _deliver_chunk(self, chunk: Sequence[ClaimedSms]) -> None:
        outcomes = await self._deliver(self._primary, chunk, self._fallback)
        await self._store.record_outcomes(outcomes, self._clock())

    async def poll_once(self) -> int:
        """Asks for the status of messages sent a while ago with no report; returns changes."""
        now = self._clock()
        due = await self._store.claim_polls(
            now,
            sent_before=now - self._config.status_poll_after_s,
            sent_after=now - outbox.POLL_WINDOW_S,
            limit=POLL_LIMIT,
        )
        changed = 0
        for name, ids in due.items():
            provider = self.providers.get(name)
            if provider is None:
                continue  # sent through a provider no longer configured: nobody to ask
            try:
                reports = await provider.query_status(ids)
            except ProviderError as exc:
                log.warning("status poll at %s failed: %s", name, exc)
                continue
            updates = outbox.status_updates(reports)
            changed += await self._store.apply_reports(name, updates, self._clock())
        return changed

    # --- sending ---------------------------------------------------------------------------

    async def _deliver(
        self, provider: Provider, claims: Sequence[ClaimedSms], fallback: Provider | None
    ) -> list[SendOutcome]:
        outcomes: list[SendOutcome] = []
        moved: list[ClaimedSms] = []
        account_error: ProviderError | None = None
        for i in range(0, len(claims), provider.max_batch):
            chunk = claims[i : i + provider.max_batch]
            for claim, result in zip(chunk, await self._send(provider, chunk), strict=True):
                if result.error is None:
                    outcomes.append(self._accepted(claim, provider.name, result))
                elif result.error.kind == "account":
                    moved.append(claim)
                    account_error = result.error
                else:
                    outcomes.append(self._on_error(claim, result.error))
        if account_error is not None:
            self._alert(account_error, len(moved), fallback)
            if fallback is None:
                outcomes.extend(self._retry(c, account_error) for c in moved)
            else:
                taken, moved = await self._already_taken(provider, moved)
                outcomes.extend(taken)
                outcomes.extend(await self._deliver(fallback, moved, None))
        return outcomes

    async def _already_taken(
        self, provider: Provider, claims: Sequence[ClaimedSms]
    ) -> tuple[list[SendOutcome], list[ClaimedSms]]:
        """Before failing over: messages the provider took on an earlier try whose answer was lost
        (a timeout, a crash) are recorded as its own, not sent a second time elsewhere."""
        if not claims or not isinstance(provider, LocalStatus):
            return [], list(claims)
        try:
            reports = await provider.query_local_status([c.id for c in claims])
        except ProviderError as exc:
            log.warning("%s local status before failover failed: %s", provider.name, exc)
            return [], list(claims)
        known = {
            r.local_id: r
            for r in reports
            if r.local_id and r.provider_message_id and r.state is not DeliveryState.UNKNOWN
        }
        taken: list[SendOutcome] = []
        rest: list[ClaimedSms] = []
        for claim in claims:
            report = known.get(claim.id)
            if report is None:
                rest.append(claim)
                continue
            result = SendResult(
                claim.id, report.provider_message_id, report.state, None, report.provider_status
            )
            taken.append(self._accepted(claim, provider.name, result))
        return taken, rest

    async def _send(self, provider: Provider, claims: Sequence[ClaimedSms]) -> list[SendResult]:
        """One result per claim; an error of the whole call becomes every message's error."""
        messages = [outbox.outgoing(c) for c in claims]
        try:
            return await self._send_retrying(provider, messages)
        except ProviderError as exc:
            error = exc
        except Exception as exc:  # an adapter bug must not strand the batch until its lease ends
            log.exception("%s send raised unexpectedly", provider.name)
            error = RetryableError("internal", type(exc).__name__, provider.name)
        return [
            SendResult(m.local_id, None, DeliveryState.FAILED, None, error.code, error)
            for m in messages
        ]

    async def _send_retrying(
        self, provider: Provider, messages: Sequence[OutgoingSms]
    ) -> list[SendResult]:
        """tenacity repeats only RetryableError, a few times; the outbox does the long waits."""
        async for attempt in retrying(self._config.retry, rng=self._rng, sleep=self._sleep):
            with attempt:
                return await provider.send(messages)
        raise AssertionError("tenacity re-raises the last error")  # pragma: no cover

    def _accepted(self, claim: ClaimedSms, provider: str, result: SendResult) -> SendOutcome:
        if result.state is DeliveryState.FAILED:  # answered, but the provider refused it
            return outbox.refused(claim, provider, result)
        return outbox.sent(claim, provider, result)

    def _on_error(self, claim: ClaimedSms, error: ProviderError) -> SendOutcome:
        if error.kind == "permanent":
            return outbox.failed(claim, error)
        return self._retry(claim, error)

    def _retry(self, claim: ClaimedSms, error: ProviderError) -> SendOutcome:
        r = self._config.retry
        return outbox.retry_later(
            claim,
            error,
            self._clock(),
            max_attempts=r.max_attempts,
            base_s=r.base_s,
            cap_s=r.cap_s,
            rng=self._rng,
        )

    def _alert(self, error: ProviderError, count: int, fallback: Provider | None) -> None:
        # An account fault (credit, key, IP, line) needs a person: logged at ERROR for alerting.
        then = f"failing over to {fallback.name}" if fallback else "will retry later"
        log.error(
            "ALERT provider %s account error %s (%s) on %d message(s); %s",
            error.provider or "?",
            error.code,
            error.reason,
            count,
            then,
        )

    # --- the background loop ---------------------------------------------------------------

    async def run(self) -> None:
        """Passes until cancelled; a failed pass is logged and the next one goes on."""
        while True:
            busy = False
            try:
                busy = await self.run_once() >= self._config.batch
                await self.poll_once()
            except Exception:
                log.exception("dispatcher pass failed")
            if not busy:  # a full batch means more is waiting: go on at once
                await asyncio.sleep(self._config.interval_s)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="sms-dispatcher")

    async def stop(self) -> None:
        """Cancels the loop; messages it had claimed are resent after their lease."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()
