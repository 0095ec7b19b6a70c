"""One USSD hop, end to end in the core: idempotent retries, expiry, resumption, the engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sessions.engine import Ctx, Engine, Page
from sessions.hop import SessionEvent, UssdHop, UssdReply
from sessions.locks import KeyedLocks
from sessions.ports import OpenedSession, SessionStore, StoredSession
from sessions.screens import Screen, T, render_pages
from sessions.state import State

RESUME_NODE = "resume"
EXPIRED = T(
    "نشست شما به پایان رسید. لطفاً دوباره شماره‌گیری کنید.",
    "Your session has timed out. Please dial again.",
)
# Shown when something inside the gateway fails: the caller gets a polite screen, not silence.
UNAVAILABLE = T(
    "سامانه موقتاً در دسترس نیست. لطفاً چند دقیقه دیگر دوباره تلاش کنید.",
    "The service is unavailable for a moment. Please try again in a few minutes.",
)
MISMATCH = T("نشست نامعتبر است. لطفاً دوباره شماره‌گیری کنید.", "Invalid session. Please dial again.")
MAX_SHORTCUT_INPUTS = 6

ACTIVE, INTERRUPTED, ENDED = "active", "interrupted", "ended"


class UssdSessions:
    def __init__(
        self,
        store: SessionStore,
        engine: Engine,
        deps: Any,
        clock: Callable[[], float],
        ttl_s: float,
        resume_window_s: float,
    ) -> None:
        self._store = store
        self._engine = engine
        self._deps = deps
        self._clock = clock
        self._ttl = ttl_s
        self._resume_window = resume_window_s
        self._locks = KeyedLocks()

    async def handle(self, hop: UssdHop) -> UssdReply:
        # Two hops of one session (an operator's retry racing the original) run one at a time,
        # within this process and, through the store, across processes sharing the database.
        # A new session's first hop reads the caller's last session and language with its own.
        key = hop.session_key
        now = self._clock()
        since = now - self._resume_window if hop.event is SessionEvent.NEW else None
        async with (
            self._locks.hold(key),
            self._store.locked_session(key, hop.msisdn, since) as opened,
        ):
            return await self._handle(hop, key, opened)

    async def _handle(self, hop: UssdHop, key: str, opened: OpenedSession) -> UssdReply:
        now = self._clock()
        stored = opened.stored
        if hop.event is SessionEvent.END:
            if stored is not None and stored.status == ACTIVE:
                await self._store.set_session_status(stored.key, INTERRUPTED)
            return UssdReply("", end=True)
        if stored is None:
            state = State()
            lang = opened.lang
            if not opened.lang_read:
                lang = await self._store.caller_language(hop.msisdn)
            if lang == "en":
                state.lang = "en"  # the language this number chose last time
            page = await self._open(Ctx(state, hop.msisdn, now, self._deps), hop, opened.previous)
            created = now
        else:
            if stored.msisdn != hop.msisdn:
                return self._notice(MISMATCH)
            if stored.last_hop_key == hop.hop_key or _stale(stored.last_hop_key or "", hop):
                # A retry, of this hop or (late) of an earlier one: the current screen again.
                return UssdReply(stored.last_reply_text, stored.last_reply_end)
            if stored.status == ENDED:
                return UssdReply(stored.last_reply_text, True)
            if now - stored.updated_at > self._ttl:
                await self._store.set_session_status(stored.key, INTERRUPTED)
                return self._notice(EXPIRED, State.from_dict(stored.state).lang)
            state = State.from_dict(stored.state)
            text = _new_input(stored.last_hop_key or "", hop) if hop.cumulative else hop.text
            page = await self._engine.step(Ctx(state, hop.msisdn, now, self._deps), text)
            created = stored.created_at
        await self._store.put_session(
            StoredSession(
                key=key,
                msisdn=hop.msisdn,
                state=state.to_dict(),
                status=ENDED if page.end else ACTIVE,
                last_hop_key=hop.hop_key,
                last_reply_text=page.text,
                last_reply_end=page.end,
                created_at=created,
                updated_at=now,
            )
        )
        return UssdReply(page.text, page.end)

    async def _open(self, ctx: Ctx, hop: UssdHop, previous: StoredSession | None) -> Page:
        """A new session: a dial string with inputs (*4455*1#), an offer to resume, or home.
        `previous` is the caller's last open session when it was read with this one's."""
        shortcut = [p for p in hop.text.split("*") if p][:MAX_SHORTCUT_INPUTS]
        if shortcut:
            page = await self._engine.start(ctx)
            for part in shortcut:
                if page.end:
                    break
                page = await self._engine.step(ctx, part)
            return page
        if hop.event is not SessionEvent.NEW:  # a dialect that does not mark a session's start
            since = ctx.now - self._resume_window
            previous = await self._store.latest_open_session(hop.msisdn, since)
        if previous is not None:
            # Offered once: accepted or declined, the old session is closed.
            await self._store.set_session_status(previous.key, ENDED)
            saved = State.from_dict(previous.state)
            if saved.node == RESUME_NODE and saved.saved is not None:
                # Cut off again while being offered to continue: offer the same place again.
                saved = State.from_dict(saved.saved)
            if saved.resumable and saved.node != RESUME_NODE:
                ctx.state.saved = saved.to_dict()
                ctx.state.lang = saved.lang
                ctx.state.node = RESUME_NODE
                return await self._engine.show_current(ctx)
        return await self._engine.start(ctx)

    @staticmethod
    def _notice(text: T, lang: str = "fa") -> UssdReply:
        # `check` proves every notice fits one page.
        page = render_pages(Screen(body=(text,), end=True), "en" if lang == "en" else "fa")[0]
        return UssdReply(page, True)


def _stale(previous: str, hop: UssdHop) -> bool:
    """An earlier hop than the last one handled: a shorter `*`-history of which the stored one
    is a continuation, or a lower hop counter."""
    if hop.cumulative:
        return len(hop.text) < len(previous) and (
            hop.text == "" or previous.startswith(hop.text + "*")
        )
    if hop.hop_key.isdigit() and previous.isdigit():
        return int(hop.hop_key) < int(previous)
    return False


def _new_input(previous: str, hop: UssdHop) -> str:
    """The newest input of a `*`-joined history; a `*` typed inside an input stays in it."""
    if not previous:
        return hop.text
    if hop.text.startswith(previous + "*"):
        return hop.text[len(previous) + 1 :]
    return hop.text.rsplit("*", 1)[-1]
