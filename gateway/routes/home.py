"""`/`, the landing page (the docs, the web phone where this caller may use it, the operator's
console), and `/static/…`, the pages' own styles and scripts: a fixed list, nothing else."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from gateway.routes import simulator
from gateway.web import edge
from gateway.web.pages import Lang, e, lang_of, render, with_lang

STATIC = {
    "site.css": "text/css",
    "simulator.js": "text/javascript",
}

TEXT: dict[Lang, dict[str, str]] = {
    "fa": {
        "title": "درگاه پیامک و یو‌اس‌اس‌دی",
        "intro": "درگاه خدمات الکترونیکی تأمین اجتماعی برای پیامک و یو‌اس‌اس‌دی.",
        "docs": "راهنمای رابط برنامه‌نویسی",
        "docs_about": "هر عملیات با نمونهٔ درخواست و پاسخ.",
        "sim": "تلفن آزمایشی",
        "sim_about": "کد را بگیرید، منوها را بپیمایید و پیامک‌ها را بخوانید.",
        "ops": "میز کار اپراتور",
        "ops_about": "صف پیامک، جلسه‌ها، ارائه‌دهندگان و کلیدها.",
    },
    "en": {
        "title": "dargah SMS and USSD gateway",
        "intro": "The telecom front door of the social-security e-services.",
        "docs": "API reference",
        "docs_about": "Every operation with a request and response example.",
        "sim": "Web phone",
        "sim_about": "Dial the code, walk the menus, read the SMS.",
        "ops": "Operator console",
        "ops_about": "The outbox, sessions, providers and API keys.",
    },
}
# Pages linked from the landing page, in order: (path, title key, about key).
LINKS = (
    ("/docs", "docs", "docs_about"),
    ("/simulator", "sim", "sim_about"),
    ("/ops", "ops", "ops_about"),
)


def _read(name: str) -> str:
    return (resources.files("gateway") / "static" / name).read_text(encoding="utf-8")


async def home(request: web.Request) -> web.Response:
    lang = lang_of(request)
    t = TEXT[lang]
    items = []
    for path, title, about in LINKS:
        if path == "/simulator" and not simulator.allowed(request):
            continue
        # The API reference is written in English only.
        href = path if path == "/docs" else with_lang(path, lang)
        items.append(f'<li><a href="{e(href)}">{e(t[title])}</a><p>{e(t[about])}</p></li>')
    body = f'<p class="intro">{e(t["intro"])}</p><ul class="cards">{"".join(items)}</ul>'
    return render(request, lang, t["title"], body)


def setup(app: web.Application) -> None:
    edge.add(app, "GET", "/", home)
    for name, content_type in STATIC.items():
        text = _read(name)

        async def serve(
            request: web.Request, text: str = text, ct: str = content_type
        ) -> web.Response:
            return web.Response(text=text, content_type=ct, headers={"Cache-Control": "no-cache"})

        edge.add(app, "GET", f"/static/{name}", serve)
