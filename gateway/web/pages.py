"""Server-rendered HTML pages: one shell (Persian and right-to-left first, an English switch), our
own stylesheet and scripts only, every value escaped. Pages pick their language with `?lang=en`."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Literal
from urllib.parse import urlencode

from aiohttp import web

Lang = Literal["fa", "en"]

# The strict policy of every page; the console's forms post to the console itself.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action {forms}; frame-ancestors 'none'"
)
_SWITCH = {"fa": ("en", "English"), "en": ("fa", "فارسی")}
_HOME = {"fa": "خانه", "en": "Home"}


def lang_of(request: web.Request) -> Lang:
    return "en" if request.query.get("lang") == "en" else "fa"


def with_lang(path: str, lang: Lang) -> str:
    """A link that keeps the page's language."""
    if lang == "fa":
        return path
    return f"{path}{'&' if '?' in path else '?'}lang=en"


def e(value: object) -> str:
    return escape(str(value), quote=True)


def render(
    request: web.Request,
    lang: Lang,
    title: str,
    body: str,
    *,
    script: str | None = None,
    status: int = 200,
    forms: bool = False,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """The page: `body` is HTML already escaped by its maker."""
    other, other_name = _SWITCH[lang]
    query = {k: v for k, v in request.query.items() if k != "lang"}
    if other == "en":
        query["lang"] = "en"
    switch = e(request.path + ("?" + urlencode(query) if query else ""))
    direction = "rtl" if lang == "fa" else "ltr"
    tag = f'<script src="/static/{e(script)}" defer></script>' if script else ""
    html = (
        f'<!doctype html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{e(title)}</title><link rel="stylesheet" href="/static/site.css">{tag}</head>'
        f'<body><header class="bar"><a href="{e(with_lang("/", lang))}">{_HOME[lang]}</a>'
        f"<strong>{e(title)}</strong>"
        f'<a class="lang" lang="{other}" href="{switch}">{other_name}</a></header>'
        f"<main>{body}</main></body></html>"
    )
    policy = CSP.format(forms="'self'" if forms else "'none'")
    all_headers = {"Content-Security-Policy": policy, "Cache-Control": "no-store"}
    all_headers.update(headers or {})
    return web.Response(text=html, content_type="text/html", status=status, headers=all_headers)
