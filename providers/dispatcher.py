"""The dispatcher: sends due outbox messages, checks the ones whose outcome is unknown, keeps each
provider's health, and records what became of every message.

Loops of their own, so a slow call in one never holds up the others (`run`):
- sends (`send_once`): fails messages whose validity ended while they waited (`expired`) or while
  their outcome was unknown (`unknown_outcome`), then sends due messages through the first
  provider that is up (the primary, else the fallback), in chunks of the provider's batch size,
  each verification code in a call of its own, concurrently; on a provider that tells messages
  apart only by their text (sms.ir), identical texts to one number go one at a time;
- checks (`check_once`): asks the provider a send went to what became of sends whose answer never
  came (a timeout, a cut connection, a garbled answer, a dispatcher that died mid-send): found
  there, they are sent; provably never taken, they go out again (through any provider);
  otherwise they wait, and are never sent twice. A check holds a lease: it is given up when the
  lease runs out, and only its holder records what it found;
- probes (`probe_once`): probes paused providers (an account error: credit, key, IP, line) and
  resumes the ones that accept again, messages keeping their attempts meanwhile;
- polls (`poll_once`): asks providers about sent messages whose delivery report did not come.
`run_once` is one of each, in turn (a one-shot run, the tests).

On stop it claims nothing more, lets in-flight sends finish for a bound, and gives back what it
still holds: unsent claims to the queue, sends still in flight to be checked at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from providers import outbox
from providers.base import (
    ClockSkew,
    DeliveryState,
    Handed,
    OutgoingSms,
    Provider,
    ProviderError,
    SendResult,
    Verdict,
)
from providers.config import DispatchConfig
from providers.retry import next_attempt_delay, retrying
from providers.routes import RouteTable
from providers.stats import DispatchStats, NoStats
from sessions.ports import (
    ClaimedSms,
    DispatchStore,
    ProviderState,
    ReportStatus,
    SendOutcome,
    StatusUpdate,
)
from sessions.sealing import SealBroken, Sealer, read_otp_payload

log = logging.getLogger("dargah.dispatcher")

POLL_LIMIT = 500  # message ids asked about per poll pass
# A send or a check gives up this far into its lease, leaving time to record that it did: past
# the lease, another dispatcher may take the message over.
LEASE_SHARE = 0.8
_FINAL_REPORTS: dict[DeliveryState, ReportStatus] = {
    DeliveryState.DELIVERED: "delivered",
    DeliveryState.UNDELIVERED: "undelivered",
}


def failure_kind(reason: str) -> str:
    """A failure's reason as a metric label: a few kinds, never the provider's own words."""
    for kind in ("expired", "sealed"):
        if kind in reason:
            return kind
    return "refused"


def _calls(route: Provider, claims: Sequence[ClaimedSms]) -> list[list[ClaimedSms]]:
    """The provider calls a claim goes out in: each verification code in a call of its own
    (never in a batch, whose fault, slowness or partial refusal would become the code's, and
    whose lost answer would leave codes never sent `unknown`); the rest in batches."""
    codes = [[c] for c in claims if c.otp is not None]
    rest = [c for c in claims if c.otp is None]
    size = route.max_batch
    return codes + [rest[i : i + size] for i in range(0, len(rest), size)]


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
        sealer: Sealer | None = None,
        stats: DispatchStats | None = None,
        table: RouteTable | None = None,
        others: Sequence[Provider] = (),
    ) -> None:
        self._store = store
        self.stats: DispatchStats = stats or NoStats()
        self._config = config
        self._clock = clock
        self._rng = rng
        self._sleep = sleep
        self._sealer = sealer
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        # Claims of the running pass not yet recorded, and whether their request has left.
        self._held: dict[str, tuple[ClaimedSms, bool]] = {}
        self.routes: list[Provider] = [primary]
        if fallback is not None and fallback.name != primary.name:
            self.routes.append(fallback)
        self.providers: dict[str, Provider] = {p.name: p for p in self.routes}
        # Routes by operator: each message through its route's first provider that is up.
        self.table = table
        for other in others:
            self.providers.setdefault(other.name, other)
        self.last_pass_at: float | None = None
        self._states: dict[str, ProviderState] = {}
        # Providers whose clock this dispatcher found too far from ours, and by how much.
        self.clock_alerts: dict[str, float] = {}

    # --- one pass --------------------------------------------------------------------------

    async def run_once(self) -> int:
        """A probe, a check and a send pass in turn; returns how many messages were claimed."""
        await self.probe_once()
        claimed = await self.check_once()
        claimed += await self.send_once()
        self.last_pass_at = self._clock()
        return claimed

    async def probe_once(self) -> None:
        await self._probe(await self._store.provider_states(), self._clock())

    async def check_once(self) -> int:
        """Checks unknown outcomes that are due; returns how many were claimed."""
        if self._stopping.is_set():
            return 0
        c = self._config
        # A send still in flight here is never checked: its lease may have run out while the
        # request is on its way, and the provider, not having it yet, would prove it absent.
        checks = await self._store.claim_unknown(
            self._clock(), c.batch, c.lease_s, exclude=frozenset(self._held)
        )
        await self._check_all(checks)
        return len(checks)

    async def send_once(self) -> int:
        """Ends what expired, then sends what is due; returns how many were claimed."""
        c = self._config
        expired = await self._store.expire_due(self._clock(), c.batch)
        if expired:
            self.stats.count("failed", "expired", expired)
        if self._stopping.is_set():
            return 0
        states = await self._store.provider_states()
        if self.table is not None:
            return await self._send_routed(self.table, states)
        route = self._route(states, self._clock())
        if route is None or self._stopping.is_set():
            return 0
        claims = await self._store.claim_due(self._clock(), c.batch, c.lease_s, route.name)
        await self._send_through(route, claims)
        return len(claims)

    async def _send_through(self, route: Provider, claims: Sequence[ClaimedSms]) -> None:
        going = claims
        if claims and not route.tells_twins_apart:
            going = await self._one_twin_at_a_time(route, claims)
        # A claim larger than one provider call keeps its calls in flight together: against a
        # provider that answers in 50 ms, that is what lifts throughput past one call a time.
        await asyncio.gather(*(self._send_chunk(route, chunk) for chunk in _calls(route, going)))

    def _first_up(
        self, names: Sequence[str], states: dict[str, ProviderState], now: float
    ) -> Provider | None:
        for name in names:
            provider = self.providers.get(name)
            state = states.get(name)
            if provider is None:
                continue
            if state is None or state.state == "active":
                return provider
            if state.state == "failing" and (state.probe_at or 0.0) <= now:
                return provider
        return None

    async def _send_routed(self, table: RouteTable, states: dict[str, ProviderState]) -> int:
        """Claims what is due and sends each message through its own route (by the recipient's
        prefix): its first provider that is up, under the route's throughput cap."""
        c = self._config
        now = self._clock()
        if self._stopping.is_set():
            return 0

        def pick(recipient: str) -> str | None:
            up = self._first_up(table.route_for(recipient).providers, states, now)
            return up.name if up is not None else None

        claims = await self._store.claim_due(now, c.batch, c.lease_s, "", route=pick)
        groups: dict[tuple[str, str], list[ClaimedSms]] = defaultdict(list)
        waiting: list[SendOutcome] = []
        for claim in claims:
            route = table.route_for(claim.recipient)
            if claim.provider not in self.providers:
                why = f"no provider of route {route.name} is up"
                waiting.append(outbox.wait(claim, why, now + c.interval_s))
                continue
            groups[(route.name, claim.provider)].append(claim)
        await self._record(waiting)

        async def through(route_name: str, name: str, group: list[ClaimedSms]) -> None:
            limiter = table.limiters.get(route_name)
            if limiter is not None:
                await limiter.acquire(len(group))
            await self._send_through(self.providers[name], group)

        await asyncio.gather(*(through(r, n, g) for (r, n), g in groups.items()))
        return len(claims)

    def _next_route(self, claim: ClaimedSms, tried: frozenset[str]) -> Provider | None:
        """The provider after those tried on this message's route, where one refused its
        destination (a number that moved to another operator)."""
        if self.table is None:
            names = [p.name for p in self.routes]
        else:
            names = list(self.table.route_for(claim.recipient).providers)
        return self._first_up([n for n in names if n not in tried], self._states, self._clock())

    async def _one_twin_at_a_time(
        self, route: Provider, claims: Sequence[ClaimedSms]
    ) -> list[ClaimedSms]:
        """Where only the text tells a lost send apart, a message waits while an identical text
        to the same number is on its way or unknown (here or in another dispatcher), so a report
        that lists one of them is never ambiguous. Waiting costs no attempt."""
        busy = await self._store.twins_in_flight(
            route.name, [c.id for c in claims], [c.recipient for c in claims]
        )
        going: list[ClaimedSms] = []
        waiting: list[SendOutcome] = []
        taken: set[tuple[str, str]] = set()
        now = self._clock()
        for claim in claims:
            twin = (claim.recipient, claim.body)
            if claim.otp is not None:
                going.append(claim)  # a code is never looked for by its text: nothing to confuse
            elif twin in busy or twin in taken:
                why = f"waits for an identical text to the same number at {route.name}"
                waiting.append(outbox.wait(claim, why, now + self._config.twin_wait_s))
            else:
                taken.add(twin)
                going.append(claim)
        await self._record(waiting)
        return going

    def _route(self, states: dict[str, ProviderState], now: float) -> Provider | None:
        """The first provider that may send now: up, or failing with its wait over (a trial)."""
        for provider in self.routes:
            state = states.get(provider.name)
            if state is None or state.state == "active":
                return provider
            if state.state == "failing" and (state.probe_at or 0.0) <= now:
                return provider
        return None

    # --- sending ---------------------------------------------------------------------------

    async def _send_chunk(
        self,
        provider: Provider,
        claims: Sequence[ClaimedSms],
        tried: frozenset[str] = frozenset(),
    ) -> None:
        now = self._clock()
        outcomes: list[SendOutcome] = []
        ready: list[tuple[ClaimedSms, OutgoingSms]] = []
        for claim in claims:
            self._held[claim.id] = (claim, False)
            if claim.expires_at <= now:
                outcomes.append(outbox.failed_for(claim, "expired: its validity ended unsent"))
                continue
            try:
                ready.append((claim, outbox.outgoing(claim, *self._opened(claim))))
            except SealBroken:
                outcomes.append(
                    outbox.failed_for(claim, "its sealed text opens with no configured seal key")
                )
        if ready:
            for claim, _ in ready:
                self._held[claim.id] = (claim, True)
            msgs = [m for _, m in ready]
            try:
                results = await asyncio.wait_for(
                    self._send(provider, msgs), self._config.lease_s * LEASE_SHARE
                )
            except TimeoutError:
                # Its lease is running out with the answer still awaited: the request may have
                # left, so it is unknown (checked before anything is sent again), recorded while
                # the claim is still this dispatcher's.
                late = outbox.ambiguous(provider.name, "no answer within its lease")
                results = [
                    SendResult(m.local_id, None, DeliveryState.FAILED, None, late.code, late)
                    for m in msgs
                ]
            judged: list[tuple[ClaimedSms, SendResult]] = []
            onward: dict[str, list[ClaimedSms]] = defaultdict(list)
            tried = tried | {provider.name}
            for (claim, _), result in zip(ready, results, strict=True):
                nxt = None
                if result.error is not None and result.error.next_route:
                    self._states = await self._store.provider_states()
                    nxt = self._next_route(claim, tried)
                if nxt is not None and await self._store.reassign(
                    claim.id, claim.attempt, nxt.name
                ):
                    log.info("%s refused the destination; trying %s", provider.name, nxt.name)
                    onward[nxt.name].append(replace(claim, provider=nxt.name))
                else:
                    judged.append((claim, result))
            if judged:
                outcomes.extend(
                    await self._judge(provider, [c for c, _ in judged], [r for _, r in judged])
                )
            await self._record(outcomes)
            outcomes = []
            await asyncio.gather(
                *(self._send_chunk(self.providers[n], g, tried) for n, g in onward.items())
            )
        await self._record(outcomes)

    def _opened(self, claim: ClaimedSms) -> tuple[str, str | None]:
        """The text to send and, for a verification code, the code alone."""
        if claim.sealed is None:
            return claim.body, None
        if self._sealer is None:
            raise SealBroken("no seal key is configured")
        opened = self._sealer.open(claim.sealed)
        if claim.otp is None:
            return opened, None
        try:
            return read_otp_payload(opened)
        except (ValueError, KeyError, TypeError):
            raise SealBroken("its sealed code is not in the expected form") from None

    def _text(self, claim: ClaimedSms) -> str:
        return self._opened(claim)[0]

    async def _send(self, provider: Provider, messages: Sequence[OutgoingSms]) -> list[SendResult]:
        """One result per message; an error of the whole call becomes every message's error.
        tenacity repeats only a provable refusal (RetryableError); the outbox does the long
        waits, and an unknown outcome is never repeated."""
        try:
            async for attempt in retrying(self._config.retry, rng=self._rng, sleep=self._sleep):
                with attempt:
                    started = time.perf_counter()
                    try:
                        return await provider.send(messages)
                    finally:
                        self.stats.send_time(provider.name, time.perf_counter() - started)
        except ProviderError as exc:
            error = exc
        except Exception as exc:
            # An adapter bug: the request may or may not have left. Checked, never resent blind.
            log.exception("%s send raised unexpectedly", provider.name)
            error = outbox.ambiguous(provider.name, f"raised {type(exc).__name__}")
        return [
            SendResult(m.local_id, None, DeliveryState.FAILED, None, error.code, error)
            for m in messages
        ]

    async def _judge(
        self, provider: Provider, claims: Sequence[ClaimedSms], results: Sequence[SendResult]
    ) -> list[SendOutcome]:
        now = self._clock()
        outcomes: list[SendOutcome] = []
        kinds: set[str] = set()
        account: ProviderError | None = None
        # The whole call refused for now: the provider is marked failing, and where another one is
        # configured its messages go there at once (a refusal proves nothing was sent).
        refused = all(r.error is not None and r.error.kind == "retryable" for r in results)
        elsewhere = refused and (len(self.routes) > 1 or self.table is not None)
        for claim, result in zip(claims, results, strict=True):
            error = result.error
            if error is None:
                outcomes.append(outbox.sent(claim, provider.name, result))
                kinds.add("accepted")
                continue
            kinds.add(error.kind)
            if error.kind == "permanent":
                outcomes.append(outbox.failed(claim, error))
            elif error.kind == "account":
                account = error
                outcomes.append(outbox.refund(claim, outbox.reason(error), now))
            elif error.kind == "unknown":
                due = now + self._config.check_after_s
                outcomes.append(outbox.unknown(claim, outbox.reason(error), due))
            elif elsewhere:
                outcomes.append(outbox.elsewhere(claim, error, now))
            else:
                r = self._config.retry
                outcomes.append(
                    outbox.retry_later(
                        claim, error, now, base_s=r.base_s, cap_s=r.cap_s, rng=self._rng
                    )
                )
        if account is not None:
            await self._pause(provider.name, account, now)
        elif "accepted" in kinds:
            await self._healthy(provider.name, now)
        elif refused:
            await self._failing(provider.name, results[0].error, now)
        return outcomes

    # --- checking unknown outcomes ---------------------------------------------------------

    async def _check_all(self, claims: Sequence[ClaimedSms]) -> None:
        by_provider: dict[str, list[ClaimedSms]] = defaultdict(list)
        for claim in claims:
            by_provider[claim.provider].append(claim)
        await asyncio.gather(*(self._check(name, group) for name, group in by_provider.items()))

    async def _check(self, name: str, claims: Sequence[ClaimedSms]) -> None:
        now = self._clock()
        for claim in claims:
            self._held[claim.id] = (claim, False)
        provider = self.providers.get(name)
        if provider is None:
            why = f"sent through {name}, which is not configured now: cannot ask it"
            await self._record([outbox.unknown(c, why, self._next_check(c, now)) for c in claims])
            return
        try:
            # A code may have gone through an OTP route, which carries no local id and whose
            # text is the provider's: it cannot be found again, so it is never looked for (it
            # waits, and ends `unknown_outcome` with its validity; never sent twice).
            items = [
                Handed(c.id, c.recipient, self._text(c), c.handed_at, otp=c.otp is not None)
                for c in claims
            ]
            known = await self._store.provider_ids_near(
                name,
                sorted({c.recipient for c in claims}),
                min(c.handed_at for c in claims) - 3600,
                max(c.handed_at for c in claims) + 3600,
            )
            # Bounded by the check's lease: past it the claim is no longer this dispatcher's.
            verdicts = await asyncio.wait_for(
                provider.reconcile(items, frozenset(known), now),
                self._config.lease_s * LEASE_SHARE,
            )
        except TimeoutError:
            log.warning("checking %d unknown send(s) at %s outran its lease", len(claims), name)
            why = f"checking at {name} took longer than its lease"
            await self._record([outbox.unknown(c, why, self._next_check(c, now)) for c in claims])
            return
        except (ProviderError, SealBroken) as exc:
            # Asking failed: the messages wait, and never move to another provider meanwhile.
            if isinstance(exc, ClockSkew):
                await self._clock_alert(name, exc.skew_s, now)
            else:
                log.warning("checking %d unknown send(s) at %s failed: %s", len(claims), name, exc)
            if isinstance(exc, ProviderError) and exc.kind == "account":
                await self._pause(name, exc, now)
            why = f"checking at {name} failed: {exc}"
            await self._record([outbox.unknown(c, why, self._next_check(c, now)) for c in claims])
            return
        if self._clock() >= now + self._config.lease_s:
            # The answer came after the lease ran out: another dispatcher may hold the check now,
            # and only the holder records what became of a message.
            log.warning(
                "checking %d send(s) at %s answered past its lease: dropped", len(claims), name
            )
            for claim in claims:
                self._held.pop(claim.id, None)
            return
        # A provider matched by text and time answered with its clock in bound: an alert raised
        # here or by another dispatcher is over.
        if not provider.tells_twins_apart and (
            name in self.clock_alerts or name in await self._store.clock_skews()
        ):
            await self._clock_alert(name, None, now)
        outcomes: list[SendOutcome] = []
        reports: list[StatusUpdate] = []
        for claim, verdict in zip(claims, verdicts, strict=True):
            if verdict.verdict is Verdict.ACCEPTED:
                outcomes.append(outbox.found(claim, name, verdict))
                final = _FINAL_REPORTS.get(verdict.state)
                if final is not None and verdict.provider_message_id:
                    update = StatusUpdate(
                        verdict.provider_message_id, final, verdict.provider_status
                    )
                    reports.append(update)
            elif verdict.verdict is Verdict.ABSENT:
                outcomes.append(outbox.absent(claim, name, now))
            else:
                why = f"{name} cannot say whether it sent it; never sent again"
                outcomes.append(outbox.unknown(claim, why, self._next_check(claim, now)))
        await self._record(outcomes)
        if reports:
            await self._store.apply_reports(name, reports, self._clock())

    def _next_check(self, claim: ClaimedSms, now: float) -> float:
        delay = next_attempt_delay(
            max(claim.attempt, 1), self._config.check_after_s, self._config.retry.cap_s, self._rng
        )
        return now + max(delay, self._config.check_after_s / 2)

    async def _record(self, outcomes: Sequence[SendOutcome]) -> None:
        if outcomes:
            try:
                await self._store.record_outcomes(outcomes, self._clock())
            except Exception:
                # Not recorded (the database failed): the claims are left to their leases, as a
                # process that died here leaves them, so a check takes them over; still held
                # here, they would never be checked nor end.
                self._release(outcomes)
                raise
        self._release(outcomes)
        for o in outcomes:
            self._account(o)

    def _release(self, outcomes: Sequence[SendOutcome]) -> None:
        for o in outcomes:
            held = self._held.get(o.id)
            # Only this claim's own entry: the other loop may hold the message by a newer one.
            if held is not None and (held[0].attempt, held[0].check) == (o.attempt, o.check):
                del self._held[o.id]

    def _account(self, o: SendOutcome) -> None:
        """One log line and one count per outcome, with the notification's id as a field."""
        fields = {
            "notification_id": o.id,
            "attempt": o.attempt,
            "provider": o.provider,
            "provider_message_id": o.provider_message_id,
            "outcome": o.status,
            "reason": o.error,
        }
        if o.status == "sent":
            self.stats.count("sent", o.provider or "")
            log.info("sms sent", extra=fields)
        elif o.status == "failed":
            self.stats.count("failed", failure_kind(o.error or ""))
            log.warning("sms failed: %s", o.error, extra=fields)
        elif o.status == "unknown":
            if not o.check:  # a check that could not tell is not a new unknown outcome
                self.stats.count("unknown", o.provider or "")
            log.warning("sms outcome unknown: %s", o.error, extra=fields)
        elif o.refund:  # its attempt did not count: a paused provider, or a stop
            log.info("sms given back: %s", o.error, extra=fields)
        elif o.provider is not None and o.due_at is not None and o.due_at <= self._clock():
            # Refused by a provider now marked failing: queued at once for the next one up.
            self.stats.count("failed_over", o.provider)
            log.info("sms failed over: %s", o.error, extra=fields)
        else:
            self.stats.count("retried", o.provider or "")
            log.info("sms to be retried: %s", o.error, extra=fields)

    # --- provider health -------------------------------------------------------------------

    async def _clock_alert(self, name: str, skew_s: float | None, now: float) -> None:
        """A provider's clock too far from ours for matching by time (`skew_s`), or back within
        the bound (None): the messages it concerns wait meanwhile. Shared through the store, so
        `/metrics` shows it whichever process answers; logged once per episode here."""
        if skew_s is None:
            self.clock_alerts.pop(name, None)
            await self._store.set_clock_skew(name, None, now)
            log.warning("provider %s clock within bound again: matching resumes", name)
            return
        first = name not in self.clock_alerts
        self.clock_alerts[name] = skew_s
        await self._store.set_clock_skew(name, skew_s, now)
        if first:
            # Matching a lost send by its time is unsafe: a person must look at the clocks.
            log.error(
                "ALERT provider %s clock is %+.0f s from ours: its unknown sends wait", name, skew_s
            )

    async def _pause(self, name: str, error: ProviderError, now: float) -> None:
        states = await self._store.provider_states()
        old = states.get(name)
        if old is not None and old.state == "paused":
            return
        paused = ProviderState(
            name, "paused", outbox.reason(error), False, now, now + self._config.probe_s, 1
        )
        if await self._store.set_provider_state(paused):
            others = [p.name for p in self.routes if p.name != name]
            then = f"sending through {others[0]}" if others else "messages wait"
            # An account fault (credit, key, IP, line) needs a person: ERROR, for alerting.
            self.stats.count("paused", name)
            log.error("ALERT provider %s paused: %s; %s", name, paused.reason, then)

    async def _failing(self, name: str, error: ProviderError | None, now: float) -> None:
        states = await self._store.provider_states()
        old = states.get(name)
        if old is not None and old.state == "paused":
            return
        failures = (old.failures if old is not None and old.state == "failing" else 0) + 1
        r = self._config.retry
        wait = next_attempt_delay(failures, r.base_s, r.cap_s, self._rng)
        why = outbox.reason(error) if error is not None else "refused"
        state = ProviderState(name, "failing", why, False, now, now + wait, failures)
        await self._store.set_provider_state(state)
        log.warning("provider %s failing (%d in a row): %s", name, failures, why)

    async def _healthy(self, name: str, now: float) -> None:
        states = await self._store.provider_states()
        old = states.get(name)
        if old is not None and old.state != "active" and not old.manual:
            await self._store.set_provider_state(ProviderState(name, "active", "", False, now))
            log.warning("provider %s accepts again", name)

    async def _probe(self, states: dict[str, ProviderState], now: float) -> None:
        for name, state in states.items():
            provider = self.providers.get(name)
            if (
                provider is None
                or state.state != "paused"
                or state.manual
                or (state.probe_at or 0.0) > now
            ):
                continue
            try:
                ok = await provider.account_ok()
            except Exception:
                log.exception("probing %s failed", name)
                ok = False
            if ok:
                resumed = ProviderState(name, "active", "", False, now)
                if await self._store.set_provider_state(resumed):
                    states[name] = resumed
                    log.warning("provider %s resumed: its account accepts again", name)
                continue
            failures = state.failures + 1
            wait = next_attempt_delay(failures, self._config.probe_s, self._config.probe_cap_s)
            wait = max(wait, self._config.probe_s)
            await self._store.set_provider_state(
                replace(state, probe_at=now + wait, failures=failures)
            )

    # --- delivery reports by polling -------------------------------------------------------

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

    # --- the background loops --------------------------------------------------------------

    async def _loop(self, name: str, one: Callable[[], Awaitable[int]]) -> None:
        """`one` until stopped; a failed pass is logged and the next one goes on. A full batch
        means more is waiting: the next pass comes at once."""
        while not self._stopping.is_set():
            busy = False
            try:
                busy = await one() >= self._config.batch
            except Exception:
                log.exception("dispatcher %s pass failed", name)
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._config.interval_s)

    async def _probes(self) -> int:
        await self.probe_once()
        return 0

    async def _sends(self) -> int:
        claimed = await self.send_once()
        self.last_pass_at = self._clock()
        return claimed

    async def run(self) -> None:
        """The loops, until stopped."""
        await asyncio.gather(
            self._loop("send", self._sends),
            self._loop("check", self.check_once),
            self._loop("probe", self._probes),
            self._loop("poll", self.poll_once),
        )

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self.run(), name="sms-dispatcher")

    async def stop(self) -> None:
        """Claims nothing more, waits up to `drain_s` for the sends in flight, then gives back
        what is still held: unsent claims to the queue at once, sends still waiting for their
        answer to be checked at once. One log line says what was drained."""
        task, self._task = self._task, None
        self._stopping.set()
        if task is None:
            return
        in_flight = len(self._held)
        done, _ = await asyncio.wait({task}, timeout=self._config.drain_s)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        now = self._clock()
        back: list[SendOutcome] = []
        for claim, handed in self._held.values():
            if handed or claim.check:
                why = "stopped while waiting for the provider's answer"
                back.append(outbox.unknown(claim, why, now))
            else:
                back.append(outbox.refund(claim, "given back unsent at a stop", now))
        released = sum(o.status == "queued" for o in back)
        try:
            await self._record(back)
        except Exception:
            log.exception("giving back claims at stop failed; their leases will run out")
        log.info(
            "dispatcher stopped: %d claim(s) in flight, %d finished in time, %d given back to "
            "the queue, %d to be checked at once",
            in_flight,
            in_flight - len(back),
            released,
            len(back) - released,
        )

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()
