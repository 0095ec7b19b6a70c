"""`/ops`, the operator's console: the outbox at a glance, a message found and its timeline,
requeue and cancel, providers paused and resumed by hand, live USSD sessions, API keys made and
revoked, and the console's own audit trail. Server-rendered forms, each with its CSRF token; see
gateway/web/ops_auth.py for the sign-in. Nothing here shows a national ID, a password or a code:
numbers are masked, texts pass through `mask_text`."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.api.registry import OPS, SCOPES
from gateway.appkeys import CLOCK, PROVIDERS, SETTINGS, STORAGE, USSD_LINKS
from gateway.jobs.smpp import link_states
from gateway.storage.audit import acting_as
from gateway.web import edge
from gateway.web.auth import new_api_key
from gateway.web.counters import METRICS
from gateway.web.hop_rate import HopRate
from gateway.web.ops_auth import (
    COOKIE,
    LOGIN_COOKIE,
    actor,
    audit,
    current,
    login_allowed,
    same,
    set_cookie,
    sign_in,
    sign_out,
)
from gateway.web.pages import Lang, e, lang_of, render, with_lang
from providers.base import canonical_msisdn
from sessions.masking import mask_msisdn, mask_text
from sessions.normalize import digits_only, normalize
from sessions.ports import OpsSession, ProviderState

TEXT: dict[Lang, dict[str, str]] = {
    "fa": {
        "title": "میز کار اپراتور", "login": "ورود", "key": "کلید API با دسترسی ops",
        "logout": "خروج", "overview": "نمای کلی", "messages": "پیامک‌ها", "keys": "کلیدها",
        "audit": "رویدادها", "bad_key": "این کلید پذیرفته نیست.",
        "too_many": "تلاش‌های ورود بیش از حد است؛ کمی بعد دوباره امتحان کنید.",
        "expired": "نشست شما به پایان رسیده است؛ دوباره وارد شوید.",
        "csrf": "فرم نامعتبر است؛ صفحه را دوباره باز کنید.", "status": "وضعیت",
        "provider": "ارائه‌دهنده", "count": "تعداد", "oldest": "قدیمی‌ترین پیامک در صف (ثانیه)",
        "per_minute": "ارسال در دقیقهٔ گذشته", "failures": "خطاها بر پایهٔ علت",
        "reason": "علت", "providers": "ارائه‌دهندگان", "state": "حالت",
        "by_hand": "به دست اپراتور", "account": "خطای حساب", "credit": "اعتبار",
        "pause": "توقف", "resume": "ادامه", "sessions": "جلسه‌های یو‌اس‌اس‌دی زنده",
        "dialect": "گویش", "live": "زنده", "last_minute": "فعال در دقیقهٔ گذشته",
        "hops": "گام در دقیقه",
        "find": "جستجو", "find_hint": "شماره، شناسهٔ اعلان یا شناسهٔ محلی",
        "recipient": "گیرنده", "created": "ساخته", "template": "الگو", "attempts": "تلاش",
        "id": "شناسه",
        "timeline": "روند", "queued": "در صف", "requeue": "ارسال دوباره", "cancel": "لغو",
        "text": "متن", "none": "چیزی پیدا نشد.", "name": "نام مشتری", "scopes": "دسترسی‌ها",
        "create": "ساخت کلید", "revoke": "باطل کردن", "revoked": "باطل شده",
        "new_key": "کلید تازه (فقط همین یک بار نمایش داده می‌شود):", "at": "زمان",
        "who": "چه کسی", "action": "کار", "target": "روی", "outcome": "نتیجه",
        "done_pause": "ارائه‌دهنده متوقف شد و تا ادامه به دست اپراتور متوقف می‌ماند.",
        "done_resume": "ارائه‌دهنده دوباره ارسال می‌کند.",
        "done_requeue": "پیامک دوباره در صف قرار گرفت.", "done_cancel": "پیامک لغو شد.",
        "done_revoke": "کلید باطل شد.", "done_created": "کلید ساخته شد.",
        "no_requeue": "این پیامک دوباره فرستاده نمی‌شود (رمز یا کد دارد، نتیجه‌اش نامعلوم بود "
        "یا ناموفق نیست).",
        "no_cancel": "فقط پیامکی که هنوز برداشته نشده لغو می‌شود.",
        "no_scope": "این دسترسی‌ها داده نمی‌شود.", "bad_name": "نام مشتری لازم است.",
        "unknown": "پیدا نشد.", "welcome": "خوش آمدید.",
        "links": "پیوندهای SMPP", "link": "پیوند", "binds": "اتصال‌ها",
        "outstanding": "در انتظار پاسخ",
        "links_elsewhere": "این فرایند پیوندی نگه نمی‌دارد؛ پیوندها در فرایند کارهای پس‌زمینه‌اند.",
    },
    "en": {
        "title": "Operator console", "login": "Sign in", "key": "API key with the ops scope",
        "logout": "Sign out", "overview": "Overview", "messages": "Messages", "keys": "API keys",
        "audit": "Audit", "bad_key": "That key is not accepted.",
        "too_many": "Too many sign-in tries; try again in a while.",
        "expired": "Your session has ended; sign in again.",
        "csrf": "The form is not valid; open the page again.", "status": "Status",
        "provider": "Provider", "count": "Count", "oldest": "Oldest queued message (s)",
        "per_minute": "Sent in the last minute", "failures": "Failures by reason",
        "reason": "Reason", "providers": "Providers", "state": "State",
        "by_hand": "by an operator", "account": "account error", "credit": "Credit",
        "pause": "Pause", "resume": "Resume", "sessions": "Live USSD sessions",
        "dialect": "Dialect", "live": "Live", "last_minute": "Active in the last minute",
        "hops": "Hops a minute",
        "find": "Find", "find_hint": "number, notification id or local id",
        "recipient": "Recipient", "created": "Created", "template": "Template",
        "attempts": "Attempts", "id": "Id",
        "timeline": "Timeline", "queued": "queued", "requeue": "Requeue", "cancel": "Cancel",
        "text": "Text", "none": "Nothing found.", "name": "Client name", "scopes": "Scopes",
        "create": "Create key", "revoke": "Revoke", "revoked": "revoked",
        "new_key": "The new key (shown this once only):", "at": "When",
        "who": "Who", "action": "Action", "target": "On", "outcome": "Outcome",
        "done_pause": "The provider is paused, and stays paused until an operator resumes it.",
        "done_resume": "The provider sends again.",
        "done_requeue": "The message is queued again.", "done_cancel": "The message is cancelled.",
        "done_revoke": "The key is revoked.", "done_created": "The key is created.",
        "no_requeue": "This message is not sent again (it carries a password or code, its "
        "outcome was unknown, or it has not failed).",
        "no_cancel": "Only a message no dispatcher has taken yet can be cancelled.",
        "no_scope": "Those scopes cannot be granted.", "bad_name": "A client name is needed.",
        "unknown": "Not found.", "welcome": "Welcome.",
        "links": "SMPP links", "link": "Link", "binds": "Binds",
        "outstanding": "Awaiting an answer",
        "links_elsewhere": "This process holds no link: the links live in the process of the "
        "background jobs.",
    },
}  # fmt: skip
HOP_RATE = web.AppKey("ops_hop_rate", HopRate)
_FLASH = ("done_pause", "done_resume", "done_requeue", "done_cancel", "done_revoke",
          "no_requeue", "no_cancel", "welcome")  # fmt: skip


# What an id in a path or a search may be: anything else names nothing, and is never sent on to
# the database (a NUL byte is an error there) nor into a header.
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _id(value: str) -> str | None:
    return value if _ID.fullmatch(value) else None


def _when(at: float | None) -> str:
    if at is None:
        return "—"
    return datetime.fromtimestamp(float(at), UTC).strftime("%Y-%m-%d %H:%M:%S")


def _see(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def _page(
    request: web.Request,
    body: str,
    session: OpsSession | None,
    *,
    status: int = 200,
    flash: str = "",
    error: bool = False,
) -> web.Response:
    lang = lang_of(request)
    t = TEXT[lang]
    top = ""
    if session is not None:
        tabs = "".join(
            f'<a href="{e(with_lang(path, lang))}">{e(t[name])}</a>'
            for path, name in (
                ("/ops", "overview"),
                ("/ops/messages", "messages"),
                ("/ops/keys", "keys"),
                ("/ops/audit", "audit"),
            )
        )
        out = _form(
            request, session, "/ops/logout", f'<button class="secondary">{e(t["logout"])}</button>'
        )
        top = f'<nav class="tabs">{tabs}<bdi class="ltr">{e(session.client)}</bdi>{out}</nav>'
    code = request.query.get("m", "")
    if not flash and code in _FLASH:
        flash, error = t[code], code.startswith("no_")
    shown = (
        f'<p class="flash{" error" if error else ""}" role="status">{e(flash)}</p>' if flash else ""
    )
    return render(request, lang, t["title"], top + shown + body, status=status, forms=True)


def _form(request: web.Request, session: OpsSession, action: str, inner: str) -> str:
    lang = lang_of(request)
    return (
        f'<form class="inline" method="post" action="{e(with_lang(action, lang))}">'
        f'<input type="hidden" name="csrf" value="{e(session.csrf)}">{inner}</form>'
    )


async def _signed_in(request: web.Request) -> tuple[OpsSession | None, web.Response | None]:
    session, ended = await current(request)
    if session is not None:
        return session, None
    lang = lang_of(request)
    if request.method == "GET":
        return None, _see(with_lang("/ops/login" + ("?expired=1" if ended else ""), lang))
    return None, _page(request, "", None, status=401, flash=TEXT[lang]["expired"], error=True)


async def _checked_form(
    request: web.Request,
) -> tuple[OpsSession | None, dict[str, str], web.Response | None]:
    """A POST from a signed-in operator carrying the session's CSRF token."""
    session, refused = await _signed_in(request)
    if session is None:
        return None, {}, refused
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    if not same(form.get("csrf", ""), session.csrf):
        await audit(request, session, "ops.csrf_refused", request.path, "refused")
        t = TEXT[lang_of(request)]
        return None, {}, _page(request, "", session, status=403, flash=t["csrf"], error=True)
    return session, form, None


# --- sign-in --------------------------------------------------------------------------------


def _login_page(request: web.Request, status: int = 200, flash: str = "") -> web.Response:
    lang = lang_of(request)
    t = TEXT[lang]
    token = secrets.token_urlsafe(24)
    if not flash and request.query.get("expired"):
        flash = t["expired"]
    body = (
        f'<form method="post" action="{e(with_lang("/ops/login", lang))}" class="panel">'
        f'<input type="hidden" name="csrf" value="{e(token)}">'
        f'<label>{e(t["key"])}<br><input id="key" name="key" type="password" dir="ltr" '
        f'autocomplete="off" size="60" required></label> '
        f'<button id="login" type="submit">{e(t["login"])}</button></form>'
    )
    response = _page(request, body, None, status=status, flash=flash, error=bool(flash))
    set_cookie(request, response, LOGIN_COOKIE, token)
    return response


async def login_form(request: web.Request) -> web.Response:
    session, _ = await current(request)
    if session is not None:
        return _see(with_lang("/ops", lang_of(request)))
    return _login_page(request)


async def login(request: web.Request) -> web.Response:
    t = TEXT[lang_of(request)]
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not same(form.get("csrf", ""), expected):
        await audit(request, None, "ops_sessions.refused", "-", "csrf_refused")
        return _login_page(request, 403, t["csrf"])
    if not await login_allowed(request):
        await audit(request, None, "ops_sessions.refused", "-", "rate_limited")
        response = _login_page(request, 429, t["too_many"])
        response.headers["Retry-After"] = "900"
        return response
    found = await sign_in(request, form.get("key", "")[:200])
    if found is None:
        await audit(request, None, "ops_sessions.refused", "-", "wrong_key")
        return _login_page(request, 401, t["bad_key"])
    session, token = found
    await audit(request, session, "ops_sessions.created", session.key_id, "ok",
                personal_target=False)  # fmt: skip
    response = _see(with_lang("/ops?m=welcome", lang_of(request)))
    set_cookie(request, response, COOKIE, token)
    response.del_cookie(LOGIN_COOKIE, path="/ops")
    return response


async def logout(request: web.Request) -> web.Response:
    session, _, refused = await _checked_form(request)
    if session is None:
        assert refused is not None
        return refused
    await audit(request, session, "ops_sessions.ended", session.key_id, "ok",
                personal_target=False)  # fmt: skip
    await sign_out(request)
    response = _see(with_lang("/ops/login", lang_of(request)))
    response.del_cookie(COOKIE, path="/ops")
    return response


# --- overview ---------------------------------------------------------------------------


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    """Cells already escaped."""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


# The Persian words for the codes the console shows (statuses, timeline steps, provider states);
# the code itself rides along as `data-code`.
_WORDS = {
    "queued": "در صف", "sending": "در حال ارسال", "unknown": "نامعلوم", "sent": "ارسال شده",
    "delivered": "تحویل شده", "undelivered": "تحویل نشده", "failed": "ناموفق",
    "cancelled": "لغو شده", "attempt": "تلاش ارسال", "check": "بررسی نتیجه",
    "report": "گزارش تحویل", "requeued": "دوباره در صف", "active": "فعال", "paused": "متوقف",
    "failing": "ناپایدار", "bound": "وصل", "binding": "در حال وصل شدن", "down": "قطع",
}  # fmt: skip


def _code(lang: Lang, code: str, cls: str = "code", extra: str = "") -> str:
    word = _WORDS.get(code, code) if lang == "fa" else code
    return f'<span class="{cls}" data-code="{e(code)}"{extra}>{e(word)}</span>'


def _provider_state(lang: Lang, name: str, state: ProviderState | None) -> str:
    t = TEXT[lang]
    code = state.state if state is not None else "active"
    why = ""
    if state is not None and state.state != "active":
        why = t["by_hand"] if state.manual else (t["account"] if state.state == "paused" else "")
        reason = state.reason if state.reason and not state.manual else ""
        why = f" ({why}{': ' if why and reason else ''}{reason})" if why or reason else ""
    return _code(lang, code, "state", f' id="state-{e(name)}"') + e(why)


def _links_panel(request: web.Request) -> str:
    """The SMPP binds, as /readyz tells them: they live in the process of the background jobs."""
    app, lang = request.app, lang_of(request)
    t = TEXT[lang]
    links = link_states(app[PROVIDERS]) + link_states({p.name: p for p in app.get(USSD_LINKS, [])})
    if not links and not app[SETTINGS].smpp_links.get_secret_value():
        return ""
    rows = [
        [
            e(link.name),
            _code(lang, link.state, "state", f' id="link-{e(link.name)}"')
            + e(f" ({link.reason})" if link.reason else ""),
            e(link.binds),
            e(link.outstanding),
        ]
        for link in links
    ]
    head = [e(t["link"]), e(t["state"]), e(t["binds"]), e(t["outstanding"])]
    shown = _table(head, rows, "links") if rows else f"<p>{e(t['links_elsewhere'])}</p>"
    return f'<section class="panel"><h2>{e(t["links"])}</h2>{shown}</section>'


async def overview(request: web.Request) -> web.Response:
    session, refused = await _signed_in(request)
    if session is None:
        assert refused is not None
        return refused
    t = TEXT[lang_of(request)]
    store = request.app[STORAGE]
    settings = request.app[SETTINGS]
    seen = await store.outbox_overview(request.app[CLOCK]())
    counts = _table(
        [e(t["status"]), e(t["provider"]), e(t["count"])],
        [[e(s), e(p or "—"), e(n)] for s, p, n in sorted(seen["counts"])],
        "counts",
    )
    oldest = seen["oldest_wait_s"]
    figures = (
        f"<p>{e(t['oldest'])}: <bdi>{e(round(oldest) if oldest is not None else '—')}</bdi></p>"
        f"<p>{e(t['per_minute'])}: <bdi>{e(seen['sent_last_minute'])}</bdi></p>"
    )
    failures = _table(
        [e(t["reason"]), e(t["count"])], [[e(r or "—"), e(n)] for r, n in seen["failures"]]
    )
    states = await store.provider_states()
    names = [settings.sms_provider] + ([settings.sms_fallback] if settings.sms_fallback else [])
    rows = []
    for name in dict.fromkeys(names):
        state = states.get(name)
        paused = state is not None and state.state == "paused" and state.manual
        action, label = ("resume", t["resume"]) if paused else ("pause", t["pause"])
        kind = "" if paused else "danger"
        button = f'<button id="{e(action)}-{e(name)}" class="{kind}">{e(label)}</button>'
        shown = _provider_state(lang_of(request), name, state)
        form = _form(request, session, f"/ops/providers/{name}/{action}", button)
        rows.append([e(name), shown, "—", form])
    providers = _table([e(t["provider"]), e(t["state"]), e(t["credit"]), ""], rows, "providers")
    rate = request.app[HOP_RATE].per_minute(request.app[METRICS], request.app[CLOCK]())
    dialects = sorted(set(seen["sessions"]) | set(seen["sessions_last_minute"]) | set(rate or {}))
    sessions = _table(
        [e(t["dialect"]), e(t["live"]), e(t["last_minute"]), e(t["hops"])],
        [
            [e(d), e(seen["sessions"].get(d, 0)), e(seen["sessions_last_minute"].get(d, 0)),
             f'<span class="hops" data-dialect="{e(d)}">'
             f"{e(round(rate.get(d, 0.0), 1) if rate is not None else '—')}</span>"]
            for d in dialects
        ],
    )  # fmt: skip
    body = (
        f'<div class="grid"><section class="panel"><h2>{e(t["messages"])}</h2>{counts}{figures}'
        f'</section><section class="panel"><h2>{e(t["failures"])}</h2>{failures}</section>'
        f'<section class="panel"><h2>{e(t["providers"])}</h2>{providers}</section>'
        f"{_links_panel(request)}"
        f'<section class="panel"><h2>{e(t["sessions"])}</h2>{sessions}</section></div>'
    )
    return _page(request, body, session)


async def provider_action(request: web.Request) -> web.Response:
    session, _, refused = await _checked_form(request)
    if session is None:
        assert refused is not None
        return refused
    name, action = request.match_info["name"], request.match_info["action"]
    settings = request.app[SETTINGS]
    if name not in (settings.sms_provider, settings.sms_fallback) or action not in (
        "pause",
        "resume",
    ):
        await audit(request, session, f"providers.{action}"[:40], name[:40], "unknown")
        t = TEXT[lang_of(request)]
        return _page(request, "", session, status=404, flash=t["unknown"], error=True)
    now = request.app[CLOCK]()
    if action == "pause":
        # Who paused it is in the audit trail; the reason stays empty, in no one language.
        state = ProviderState(name, "paused", "", True, now)
    else:
        state = ProviderState(name, "active", "", False, now)
    await request.app[STORAGE].set_provider_state(state, by_hand=True)
    verb = "paused" if action == "pause" else "resumed"
    await audit(request, session, f"providers.{verb}", name, "ok", personal_target=False)
    return _see(with_lang(f"/ops?m=done_{action}", lang_of(request)))


# --- messages ---------------------------------------------------------------------------


def _message_row(lang: Lang, m: dict[str, Any]) -> list[str]:
    link = f'<a href="{e(with_lang("/ops/messages/" + str(m["id"]), lang))}">{e(m["id"])}</a>'
    return [
        link, f'<bdi class="ltr">{e(mask_msisdn(m["recipient"]))}</bdi>', e(m["template_id"]),
        _code(lang, m["status"], "status"), e(m["provider"] or "—"),
        e(m["attempts"]), e(_when(m["created_at"])),
    ]  # fmt: skip


async def messages(request: web.Request) -> web.Response:
    session, refused = await _signed_in(request)
    if session is None:
        assert refused is not None
        return refused
    lang = lang_of(request)
    t = TEXT[lang]
    term = _CONTROL.sub("", normalize(request.query.get("q", "")))[:128].strip()
    lang_field = '<input type="hidden" name="lang" value="en">' if lang == "en" else ""
    body = (
        f'<form method="get" action="/ops/messages" class="row">{lang_field}'
        f'<input id="q" name="q" dir="ltr" placeholder="{e(t["find_hint"])}" '
        f'size="30"><button id="find" type="submit">{e(t["find"])}</button></form>'
    )
    if term:
        try:
            recipient: str | None = canonical_msisdn(digits_only(term))
        except ValueError:
            recipient = None
        found = await request.app[STORAGE].find_messages(term, recipient)
        await audit(request, session, "notifications.searched", term, f"{len(found)} found")
        head = [t["id"], t["recipient"], t["template"], t["status"], t["provider"], t["attempts"],
                t["created"]]  # fmt: skip
        rows = [_message_row(lang, m) for m in found]
        body += f'<p>{e(t["find"])}: <bdi class="ltr">{e(mask_text(term))}</bdi></p>'
        body += _table([e(h) for h in head], rows, "found") if rows else f"<p>{e(t['none'])}</p>"
    return _page(request, body, session)


async def message(request: web.Request) -> web.Response:
    session, refused = await _signed_in(request)
    if session is None:
        assert refused is not None
        return refused
    lang = lang_of(request)
    t = TEXT[lang]
    message_id = _id(request.match_info["message_id"])
    found, events = (
        await request.app[STORAGE].message_timeline(message_id) if message_id else (None, [])
    )
    if found is None or message_id is None:
        return _page(request, "", session, status=404, flash=t["unknown"], error=True)
    head = [t["id"], t["recipient"], t["template"], t["status"], t["provider"], t["attempts"],
            t["created"]]  # fmt: skip
    summary = _table([e(h) for h in head], [_message_row(lang, found)], "message")
    text = (
        f'<p>{e(t["text"])}: <span class="body" dir="auto">{e(mask_text(found["body"]))}</span></p>'
    )
    steps = [[e(_when(found["created_at"])), _code(lang, "queued"), "", "", "", ""]]
    for ev in events:
        steps.append([
            e(_when(ev["at"])), _code(lang, ev["kind"]), e(ev["attempt"] or ""),
            e(ev["provider"] or ""), _code(lang, ev["outcome"]), e(mask_text(ev["detail"] or "")),
        ])  # fmt: skip
    timeline = _table(
        [e(t["at"]), "", "#", e(t["provider"]), e(t["outcome"]), e(t["reason"])], steps, "timeline"
    )
    actions = ""
    if found["status"] == "failed":
        actions += _form(request, session, f"/ops/messages/{message_id}/requeue",
                         f'<button id="requeue">{e(t["requeue"])}</button>')  # fmt: skip
    if found["status"] == "queued":
        button = f'<button id="cancel" class="danger">{e(t["cancel"])}</button>'
        actions += _form(request, session, f"/ops/messages/{message_id}/cancel", button)
    body = f'{summary}{text}<h2>{e(t["timeline"])}</h2>{timeline}<p class="row">{actions}</p>'
    return _page(request, body, session)


async def message_action(request: web.Request) -> web.Response:
    session, _, refused = await _checked_form(request)
    if session is None:
        assert refused is not None
        return refused
    message_id = _id(request.match_info["message_id"])
    action = request.match_info["action"]
    if message_id is None:
        await audit(request, session, f"notifications.{action}", "-", "unknown")
        t = TEXT[lang_of(request)]
        return _page(request, "", session, status=404, flash=t["unknown"], error=True)
    store = request.app[STORAGE]
    now = request.app[CLOCK]()
    with acting_as(actor(request, session)):  # audited with the change, when there is one
        if action == "requeue":
            validity = request.app[SETTINGS].message_validity_s
            ok = await store.requeue_message(message_id, now, validity)
        else:
            ok = await store.cancel_message(message_id, now)
    if not ok:
        await audit(request, session, f"notifications.{action}", message_id, "refused",
                    personal_target=False)  # fmt: skip
    code = f"done_{action}" if ok else f"no_{action}"
    return _see(with_lang(f"/ops/messages/{message_id}?m={code}", lang_of(request)))


# --- keys and audit -----------------------------------------------------------------------


async def keys(request: web.Request, created: str = "", flash: str = "") -> web.Response:
    session, refused = await _signed_in(request)
    if session is None:
        assert refused is not None
        return refused
    lang = lang_of(request)
    t = TEXT[lang]
    store = request.app[STORAGE]
    mine = await store.get_api_key(session.key_id)
    grantable = sorted((mine.scopes if mine else frozenset()) & SCOPES)
    rows = []
    for key in await store.list_api_keys():
        state = t["revoked"] if key.revoked else ""
        revoke = "" if key.revoked else _form(
            request, session, f"/ops/keys/{key.key_id}/revoke",
            f'<button id="revoke-{e(key.key_id)}" class="danger">{e(t["revoke"])}</button>',
        )  # fmt: skip
        scopes = e(", ".join(sorted(key.scopes)))
        key_id = f'<bdi class="ltr">{e(key.key_id)}</bdi>'
        rows.append([key_id, e(key.name), scopes, e(_when(key.created_at)), e(state), revoke])
    boxes = "".join(
        f'<label><input type="checkbox" name="scope" value="{e(s)}"> {e(s)}</label> '
        for s in grantable
    )
    create = _form(
        request, session, "/ops/keys",
        f'<label>{e(t["name"])} <input id="key-name" name="name" dir="ltr" maxlength="64" '
        f'required></label> {boxes}<button id="create-key">{e(t["create"])}</button>',
    )  # fmt: skip
    shown = ""
    if created:
        shown = (f'<div class="flash"><p>{e(t["new_key"])}</p>'
                 f'<p><code id="new-key" class="ltr">{e(created)}</code></p></div>')  # fmt: skip
    head = [t["id"], t["name"], t["scopes"], t["created"], t["state"], ""]
    body = f'{shown}<p class="row">{create}</p>{_table([e(h) for h in head], rows, "keys")}'
    return _page(request, body, session, flash=flash, error=bool(flash))


async def create_key(request: web.Request) -> web.Response:
    session, form, refused = await _checked_form(request)
    if session is None:
        assert refused is not None
        return refused
    t = TEXT[lang_of(request)]
    post = await request.post()
    wanted = frozenset(str(s) for s in post.getall("scope", []))
    name = _CONTROL.sub("", normalize(form.get("name", ""))).strip()[:64]
    mine = await request.app[STORAGE].get_api_key(session.key_id)
    allowed = (mine.scopes if mine else frozenset()) & SCOPES
    # No key made here may sign in to the console, nor hold a scope the signed-in key lacks.
    if not wanted or OPS in wanted or not wanted <= allowed:
        await audit(request, session, "api_keys.refused", name or "-", "scopes")
        return await keys(request, flash=t["no_scope"])
    if not name:
        return await keys(request, flash=t["bad_name"])
    key, record = new_api_key(name, wanted, request.app[CLOCK]())
    with acting_as(actor(request, session)):  # audited with the key
        await request.app[STORAGE].add_api_key(record)
    response = await keys(request, created=key)
    response.headers["Cache-Control"] = "no-store"
    return response


async def revoke_key(request: web.Request) -> web.Response:
    session, _, refused = await _checked_form(request)
    if session is None:
        assert refused is not None
        return refused
    key_id = _id(request.match_info["key_id"]) or "-"
    with acting_as(actor(request, session)):  # audited with the change
        ok = key_id != "-" and await request.app[STORAGE].revoke_api_key(key_id)
    if not ok:
        await audit(request, session, "api_keys.revoke_refused", key_id, "unknown")
    return _see(with_lang("/ops/keys?m=done_revoke", lang_of(request)))


async def audit_view(request: web.Request) -> web.Response:
    session, refused = await _signed_in(request)
    if session is None:
        assert refused is not None
        return refused
    t = TEXT[lang_of(request)]
    rows = [
        [e(_when(a.created_at)), e(f"{a.client} ({a.key_id or '-'})"), e(a.action),
         f'<bdi class="ltr">{e(mask_text(a.target))}</bdi>', _change(a.before, a.after)]
        for a in await request.app[STORAGE].find_audit(limit=SHOWN_AUDIT)
    ]  # fmt: skip
    head = [t["at"], t["who"], t["action"], t["target"], t["outcome"]]
    return _page(request, _table([e(h) for h in head], rows, "audit"), session)


SHOWN_AUDIT = 100


def _change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """The entry's values, already masked by the trail, shown compactly."""
    parts = []
    for label, value in (("−", before), ("+", after)):
        if value:
            text = ", ".join(f"{k}={v}" for k, v in value.items())
            parts.append(f"{label} {mask_text(text)}"[:200])
    return f'<bdi class="ltr">{e(" ".join(parts))}</bdi>'


async def keys_page(request: web.Request) -> web.Response:
    return await keys(request)


def setup(app: web.Application) -> None:
    app[HOP_RATE] = HopRate()
    edge.add(app, "GET", "/ops", overview)
    edge.add(app, "GET", "/ops/login", login_form)
    edge.add(app, "POST", "/ops/login", login)
    edge.add(app, "POST", "/ops/logout", logout)
    edge.add(app, "POST", "/ops/providers/{name}/{action}", provider_action)
    edge.add(app, "GET", "/ops/messages", messages)
    edge.add(app, "GET", "/ops/messages/{message_id}", message)
    edge.add(app, "POST", "/ops/messages/{message_id}/{action:requeue|cancel}", message_action)
    edge.add(app, "GET", "/ops/keys", keys_page)
    edge.add(app, "POST", "/ops/keys", create_key)
    edge.add(app, "POST", "/ops/keys/{key_id}/revoke", revoke_key)
    edge.add(app, "GET", "/ops/audit", audit_view)
