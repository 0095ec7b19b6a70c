"""`/simulator`: a web phone that dials the gateway's menus, beside the number's SMS inbox as the
console provider "delivered" it, in full.

This is the one place a demo's passwords and codes are shown, so it exists only where the
console provider sends, and only to a caller on this machine (`is_local_caller`) or where
`GATEWAY_SIMULATOR_ENABLED` says so; anyone else gets the same 404 as any unknown path. A hop
goes through the gateway's own JSON dialect (parsed, answered and rendered as `/ussd/json`
would), behind this guard instead of the operator's callback secret.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from gateway.appkeys import CLOCK, DEPS, SETTINGS, STORAGE
from gateway.cli.demo import CASES
from gateway.routes.ussd import handle_hop
from gateway.web import edge
from gateway.web.access import is_local_caller
from gateway.web.errors import ApiError
from gateway.web.pages import Lang, e, lang_of, render
from providers.base import canonical_msisdn
from providers.console import Inbox
from sessions.normalize import digits_only

INBOX_SHOWN = 20

TEXT: dict[Lang, dict[str, str]] = {
    "fa": {
        "title": "تلفن آزمایشی",
        "number": "شماره",
        "other": "شماره دیگر",
        "code": "کد",
        "dial": "شماره‌گیری",
        "send": "ارسال",
        "drop": "قطع تماس",
        "answer": "پاسخ",
        "idle": "شماره‌ای بگیرید.",
        "ended": "پایان جلسه",
        "dropped": "تماس قطع شد. دوباره شماره بگیرید تا ادامه را پیشنهاد کند.",
        "failed": "پاسخی نیامد",
        "inbox": "صندوق پیامک",
        "empty": "پیامکی نیست.",
        "samples": "نمونه‌ها",
        "nid": "کد ملی",
        "menu": "گزینه",
        "note": "پیامک‌ها همان‌طور که درگاه آزمایشی فرستاده، کامل نمایش داده می‌شوند.",
    },
    "en": {
        "title": "Web phone",
        "number": "Number",
        "other": "Another number",
        "code": "Code",
        "dial": "Dial",
        "send": "Send",
        "drop": "Drop call",
        "answer": "Answer",
        "idle": "Dial to begin.",
        "ended": "Session ended",
        "dropped": "Call dropped. Dial again to be offered to continue.",
        "failed": "No answer",
        "inbox": "SMS inbox",
        "empty": "No SMS yet.",
        "samples": "Sample records",
        "nid": "National ID",
        "menu": "Menu",
        "note": "Texts are shown in full, as the console provider delivered them.",
    },
}


def allowed(request: web.Request) -> bool:
    """Whether this caller may see the web phone and its inbox."""
    settings = request.app[SETTINGS]
    if "console" not in (settings.sms_provider, settings.sms_fallback):
        return False
    return settings.simulator_enabled or is_local_caller(request, settings)


def _guard(request: web.Request) -> None:
    if not allowed(request):
        raise web.HTTPNotFound()


def _inbox(request: web.Request) -> Inbox | None:
    sealer = request.app[DEPS].sealer
    return Inbox(request.app[STORAGE], sealer, request.app[CLOCK]) if sealer else None


def _page(request: web.Request) -> web.Response:
    lang = lang_of(request)
    t = TEXT[lang]
    numbers = list(dict.fromkeys(c.mobile for c in CASES))
    options = "".join(f'<option value="{e(n)}">{e(n)}</option>' for n in numbers)
    samples = "".join(
        f"<tr><td>{e(c.mobile)}</td><td>{e(c.national_id)}</td><td>{e(c.menu)}</td></tr>"
        for c in CASES
    )
    keys = "".join(
        f'<button type="button" class="key" data-key="{k}">{k}</button>' for k in "123456789*0#"
    )
    code = request.app[SETTINGS].ussd_code
    messages = " ".join(f'data-{k}="{e(t[k])}"' for k in ("idle", "ended", "dropped", "failed"))
    body = f"""
<div class="sim" id="sim" {messages} data-empty="{e(t["empty"])}">
<section class="phone" aria-label="{e(t["title"])}">
<form id="dial-form" class="row">
<label>{e(t["number"])} <select id="msisdn">{options}
<option value="">{e(t["other"])}</option></select></label>
<input id="custom" dir="ltr" inputmode="tel" placeholder="09…" hidden>
<label>{e(t["code"])} <input id="code" dir="ltr" value="{e(code)}" size="8"></label>
<button id="dial" type="submit">{e(t["dial"])}</button>
</form>
<div id="screen" class="screen" dir="rtl" aria-live="polite">{e(t["idle"])}</div>
<form id="answer-form" class="row">
<input id="answer" dir="ltr" inputmode="numeric" autocomplete="off"
 aria-label="{e(t["answer"])}" disabled>
<button id="send" type="submit" disabled>{e(t["send"])}</button>
</form>
<div class="keypad">{keys}</div>
<button id="drop" type="button" class="drop" disabled>{e(t["drop"])}</button>
</section>
<section class="inbox">
<h2>{e(t["inbox"])} <bdi id="inbox-number" dir="ltr"></bdi></h2>
<p class="note">{e(t["note"])}</p>
<ol id="inbox"></ol>
</section>
</div>
<details class="samples"><summary>{e(t["samples"])}</summary>
<table><thead><tr><th>{e(t["number"])}</th><th>{e(t["nid"])}</th><th>{e(t["menu"])}</th></tr></thead>
<tbody dir="ltr">{samples}</tbody></table></details>"""
    return render(request, lang, t["title"], body, script="simulator.js")


async def page(request: web.Request) -> web.Response:
    _guard(request)
    return _page(request)


async def hop(request: web.Request) -> web.StreamResponse:
    _guard(request)
    return await handle_hop(request, "json", let_in=True)


def _number(request: web.Request) -> str:
    raw = request.query.get("msisdn", "")[:32]
    try:
        return canonical_msisdn(digits_only(raw))
    except ValueError:
        message = "msisdn is not a mobile number"
        raise ApiError(400, "invalid_msisdn", message, fields=["msisdn"]) from None


async def inbox(request: web.Request) -> web.Response:
    _guard(request)
    number = _number(request)
    kept = _inbox(request)
    found = await kept.read(number, INBOX_SHOWN) if kept is not None else []
    messages = [
        {"at": datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds"), "text": text}
        for at, text in found
    ]
    return web.json_response(
        {"msisdn": number, "messages": messages}, headers={"Cache-Control": "no-store"}
    )


def setup(app: web.Application) -> None:
    edge.add(app, "GET", "/simulator", page)
    edge.add(app, "POST", "/simulator/ussd", hop)
    edge.add(app, "GET", "/simulator/inbox", inbox)
