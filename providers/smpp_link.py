"""One SMPP bind (transceiver) to an SMSC on `smpp34`: kept bound, rebound with backoff, a window
of outstanding `submit_sm` and a throughput cap, and every `deliver_sm` handed to a callback.

`enquire_link`, the response timers and sequence numbers are the library's (its Rust core); this
module decides what a dropped link means: a `submit_sm` that never left (link down) is a refusal,
one that left and got no answer is unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import smpp34

from providers.config import SmppLinkConfig
from providers.ratelimit import TokenBucket
from sessions.masking import mask_text

log = logging.getLogger("dargah.providers.smpp")

LINK_STATES = ("bound", "binding", "down")
# deliver_sm handled at once per bind: one caller's slow USSD hop or a slow write never holds up
# the others (hops of one session are serialised by the session engine's own lock).
DELIVER_CONCURRENCY = 64


class LinkDown(Exception):
    """The bind is not up: the PDU was not written."""


@dataclass(frozen=True, slots=True)
class Deliver:
    """A `deliver_sm` as read off the wire."""

    source_addr: str
    destination_addr: str
    esm_class: int
    data_coding: int
    short_message: bytes
    service_type: str
    tlvs: dict[int, bytes]


DeliverHandler = Callable[[Deliver], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LinkState:
    name: str
    state: str  # one of LINK_STATES
    reason: str
    binds: int  # successful binds since start (1 plus the rebinds)
    outstanding: int  # submit_sm waiting for their answer


class SmppLink:
    def __init__(
        self,
        config: SmppLinkConfig,
        on_deliver: DeliverHandler | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.on_deliver = on_deliver
        self.state = "down"
        self.reason = "not started"
        self.binds = 0
        self._rng = rng or random.Random()
        self._window = asyncio.Semaphore(max(1, config.window))
        self._outstanding = 0
        self._limiter = TokenBucket(config.rate_per_s)
        self._smsc: smpp34.Smsc | None = None
        self._client: smpp34.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._bound = asyncio.Event()
        self._closing = False
        self._handling: set[asyncio.Task[None]] = set()
        self._handlers = asyncio.Semaphore(DELIVER_CONCURRENCY)

    def snapshot(self) -> LinkState:
        return LinkState(self.config.name, self.state, self.reason, self.binds, self._outstanding)

    def _masked(self, exc: BaseException) -> str:
        """An error's text fit for a log: never the password, whatever the library put in it."""
        text = str(exc) or type(exc).__name__
        if self.config.password:
            text = text.replace(self.config.password, "***")
        return mask_text(text)[:200]

    def start(self) -> None:
        if self._task is None and not self._closing:
            self._task = asyncio.create_task(self._run(), name=f"smpp-{self.config.name}")

    async def wait_bound(self, timeout_s: float) -> bool:
        self.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._bound.wait(), timeout_s)
        return self.state == "bound"

    async def _run(self) -> None:
        c = self.config
        failures = 0
        while not self._closing:
            self.state = "binding"
            client = smpp34.Client(
                c.host, c.port, c.system_id, c.password, bind_type="TRX",
                system_type=c.system_type, addr_ton=c.source_ton, addr_npi=c.source_npi,
                window_size=max(1, c.window), connect_timeout_ms=int(c.bind_timeout_s * 1000),
            )  # fmt: skip
            try:
                smsc = await asyncio.wait_for(client.connect(), c.bind_timeout_s)
            except (smpp34.SmppError, OSError, TimeoutError) as exc:
                failures += 1
                self.state, self.reason = "down", f"bind failed: {self._masked(exc)}"
                with contextlib.suppress(Exception):
                    await client.stop()
                wait = min(c.rebind_cap_s, c.rebind_base_s * 2 ** min(failures - 1, 16))
                wait *= 0.5 + self._rng.random() / 2
                log.warning("smpp link %s down: %s; rebind in %.1f s", c.name, self.reason, wait)
                await asyncio.sleep(wait)
                continue
            failures = 0
            self._client, self._smsc = client, smsc
            self.binds += 1
            self.state, self.reason = "bound", ""
            self._bound.set()
            log.info("smpp link %s bound (bind %d)", c.name, self.binds)
            await self._read(smsc)
            self._bound.clear()
            self._smsc = None
            with contextlib.suppress(Exception):
                await client.stop()
            if not self._closing:
                self.state, self.reason = "down", "the link dropped"
                log.warning("smpp link %s dropped; rebinding", c.name)
                await asyncio.sleep(c.rebind_base_s * (0.5 + self._rng.random() / 2))

    async def _read(self, smsc: smpp34.Smsc) -> None:
        while True:
            event = await smsc.next()
            if not isinstance(event, smpp34.DeliverSmEvent):
                return  # Disconnected
            pdu = Deliver(
                event.source_addr, event.destination_addr, event.esm_class, event.data_coding,
                bytes(event.short_message), event.service_type,
                {t.tag: bytes(t.value) for t in event.tlvs},
            )  # fmt: skip
            if self.on_deliver is None:
                continue
            await self._handlers.acquire()  # at the bound, reading waits: back-pressure
            task = asyncio.create_task(self._handle(self.on_deliver, pdu))
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)

    async def _handle(self, handler: DeliverHandler, pdu: Deliver) -> None:
        try:
            await handler(pdu)
        except Exception:
            log.exception("smpp link %s: a deliver_sm could not be handled", self.config.name)
        finally:
            self._handlers.release()

    async def submit(self, **fields: Any) -> smpp34.SubmitSmResp:
        """One `submit_sm`. LinkDown: not written. TimeoutError or SmppError: it may have left."""
        await self._limiter.acquire()
        async with self._window:
            smsc = self._smsc
            if smsc is None or self.state != "bound":
                raise LinkDown(self.reason or "not bound")
            self._outstanding += 1
            try:
                return await asyncio.wait_for(
                    smsc.submit_sm(**fields), self.config.response_timeout_s
                )
            finally:
                self._outstanding -= 1

    async def close(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        smsc, client = self._smsc, self._client
        if smsc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(smsc.unbind(), 2.0)
        if client is not None:
            with contextlib.suppress(Exception):
                await client.stop()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._handling:  # what was taken off the wire is finished, within a bound
            await asyncio.wait(set(self._handling), timeout=5.0)
        self.state, self.reason = "down", "closed"
