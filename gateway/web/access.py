"""Who may call what: operator callback secrets and allow-lists, the loopback rule, body limits
per route class, and the headers every answer carries.

Callbacks (`/ussd/…`, `/sms/{provider}/status|inbound`) prove themselves with the shared secret of
their dialect or provider, as the last path segment or in a header (`X-Gateway-Token` unless
configured otherwise). A gateway with no secret for a channel serves that channel only to a caller
on the same machine: it listens on loopback, the peer is a loopback address, no proxy is configured
and the request carries no forwarding header (a local reverse proxy would relay anyone's callback).
It refuses to start on any other address with no secret at all.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Literal

from aiohttp import hdrs, web
from pydantic import SecretStr

from gateway.appkeys import SETTINGS
from gateway.settings import ANY, Network, Settings
from gateway.web.errors import ApiError, error_response

log = logging.getLogger("gateway.web.access")

Channel = Literal["ussd", "sms"]
IpAddress = IPv4Address | IPv6Address

CALLBACK_MAX_BODY = 16 * 1024  # an operator hop or a delivery report is well under 2 KB
API_MAX_BODY = 256 * 1024  # a notification to 1,000 recipients fits easily
_CALLBACK_PREFIXES = ("/ussd/", "/sms/")

# HTML pages load only their own script and style, and nothing may frame them.
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class InsecureSettings(ValueError):
    """The settings would expose unauthenticated callbacks to the network."""


# --- where the gateway listens ----------------------------------------------------------------


@functools.lru_cache(maxsize=64)  # the listening host, asked on every callback
def is_loopback(host: str) -> bool:
    """True only for addresses that cannot be reached from another machine. A name other than
    `localhost` could resolve anywhere, and `0.0.0.0` or `::` listen everywhere."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _secret_for(secrets: Mapping[str, SecretStr], name: str) -> SecretStr | None:
    found = secrets.get(name)
    return found if found is not None else secrets.get(ANY)


def _secrets(settings: Settings, channel: Channel) -> Mapping[str, SecretStr]:
    return settings.ussd_secrets if channel == "ussd" else settings.sms_callback_secret


def callback_secret(settings: Settings, channel: Channel, name: str) -> SecretStr | None:
    """The secret a callback of this dialect or provider must carry, if any."""
    return _secret_for(_secrets(settings, channel), name)


def exposure_problem(settings: Settings) -> str | None:
    """Why these settings must not serve, in one line; None when they may.

    On loopback the gateway may start without secrets (development, tests); a callback is then
    served only when it comes straight from the same machine (`guard_callback`), so a reverse
    proxy in front still needs the secrets. Elsewhere the USSD callbacks need a secret, and so
    do the SMS callbacks of a real provider: a forged delivery report or inbound SMS is as real
    a threat as a forged USSD hop."""
    if is_loopback(settings.host):
        return None
    missing = []
    if not settings.ussd_secrets:
        missing.append("GATEWAY_USSD_SECRETS")
    providers = {settings.sms_provider, settings.sms_fallback} - {None, "console"}
    # An SMPP link takes no HTTP callback: its receipts and messages come over the bind.
    unguarded = sorted(
        p
        for p in providers
        if p and not p.startswith("smpp") and not _secret_for(settings.sms_callback_secret, p)
    )
    if unguarded:
        missing.append(f"GATEWAY_SMS_CALLBACK_SECRET (for {', '.join(unguarded)})")
    if not missing:
        return None
    return (
        f"refusing to listen on {settings.host}: operator callbacks would be unauthenticated; "
        f"set {' and '.join(missing)}"
    )


def check_exposure(settings: Settings) -> None:
    problem = exposure_problem(settings)
    if problem is not None:
        raise InsecureSettings(problem)


# --- the caller's address ---------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)  # bounded; the same few peers and proxies call all day
def _parse_ip(value: str) -> IpAddress | None:
    try:
        return ip_address(value.strip())
    except ValueError:
        return None


def _within(address: IpAddress, networks: Sequence[Network]) -> bool:
    return any(address in network for network in networks)


def client_address(request: web.BaseRequest, trusted: Sequence[Network]) -> IpAddress | None:
    """The peer's address; behind trusted proxies, the nearest X-Forwarded-For hop that is not
    one of them. The header is believed only when the peer itself is a trusted proxy."""
    peer = _parse_ip(request.remote or "")
    if peer is None or not trusted or not _within(peer, trusted):
        return peer
    hops = [h for value in request.headers.getall("X-Forwarded-For", []) for h in value.split(",")]
    address = peer
    for hop in reversed(hops):
        parsed = _parse_ip(hop)
        if parsed is None:
            return None  # a garbled chain proves nothing
        address = parsed
        if not _within(parsed, trusted):
            break
    return address


# --- the callback guard -----------------------------------------------------------------------

# A proxy adds one of these; a caller on the same machine has no reason to.
FORWARDING_HEADERS = (
    "X-Forwarded-For",
    "Forwarded",
    "X-Real-IP",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
)
_SECRET_SETTING: dict[Channel, str] = {
    "ussd": "GATEWAY_USSD_SECRETS",
    "sms": "GATEWAY_SMS_CALLBACK_SECRET",
}


def is_local_caller(request: web.BaseRequest, settings: Settings) -> bool:
    """True only for a callback that can come from nowhere but this machine: the gateway listens
    on loopback, the peer is a loopback address, no proxy is configured and none announced
    itself. Behind a reverse proxy the peer is always loopback, whoever sent the request."""
    if not is_loopback(settings.host) or settings.trusted_proxies:
        return False
    if not _loopback_peer(request.remote or ""):
        return False
    return not any(map(request.headers.__contains__, FORWARDING_HEADERS))


@functools.lru_cache(maxsize=1024)
def _loopback_peer(remote: str) -> bool:
    peer = _parse_ip(remote)
    if isinstance(peer, IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer is not None and peer.is_loopback


def _denied(
    request: web.Request, channel: Channel, name: str, status: int, code: str, message: str
) -> web.Response:
    log.info("%s callback for %s refused: %s (from %s)", channel, name, code, request.remote)
    return error_response(status, code, message)


def guard_callback(request: web.Request, channel: Channel, name: str) -> web.Response | None:
    """None when the callback may proceed; otherwise the answer to give (no screen, no body
    parsed). Runs before the body is read."""
    settings = request.app[SETTINGS]
    if settings.callback_allow:
        address = client_address(request, settings.trusted_proxies)
        if address is None or not _within(address, settings.callback_allow):
            message = "callbacks are not accepted from this address"
            return _denied(request, channel, name, 403, "forbidden", message)
    secret = callback_secret(settings, channel, name)
    if secret is None:
        if is_local_caller(request, settings):
            return None
        message = (
            f"callbacks for {name!r} require a secret unless they come straight from this "
            f"machine; set {_SECRET_SETTING[channel]}"
        )
        return _denied(request, channel, name, 403, "forbidden", message)
    given = request.match_info.get("token") or request.headers.get(
        settings.callback_token_header, ""
    )
    if not given or not tokens_match(given, secret):
        message = "a valid callback token is required"
        return _denied(request, channel, name, 401, "unauthorized", message)
    return None


def tokens_match(given: str, secret: SecretStr) -> bool:
    """Constant time, and of equal length: the digests are compared, not the texts."""
    a = hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest()
    b = hashlib.sha256(secret.get_secret_value().encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(a, b)


# --- body limits and headers ------------------------------------------------------------------


def body_limit(path: str) -> int:
    return CALLBACK_MAX_BODY if path.startswith(_CALLBACK_PREFIXES) else API_MAX_BODY


# What aiohttp unpacks; `br` and `zstd` need libraries the gateway does not carry (the parser
# refuses them before any route, see gateway/web/malformed.py), and any other name would be read
# as if it were plain.
READABLE_ENCODINGS = frozenset({"", "identity", "gzip", "deflate"})


def limit_body(request: web.Request, limit: int) -> web.Request:
    """Refuses a declared oversize body at once, and caps what is read of an undeclared one
    (chunked): either way a 413 `body_too_large`. A body in an encoding it cannot read is a 415
    `unsupported_encoding`."""
    encoding = request.headers.get(hdrs.CONTENT_ENCODING)
    if encoding is not None and encoding.strip().lower() not in READABLE_ENCODINGS:
        raise ApiError(
            415, "unsupported_encoding", "the body's Content-Encoding may be gzip or deflate only"
        )
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError(413, "body_too_large", f"the body may be at most {limit} bytes here")
    if request.client_max_size != limit and request.can_read_body:
        return request.clone(client_max_size=limit)
    return request


def secure(response: web.StreamResponse, api: bool) -> None:
    """Every answer, errors included. No answer may be sniffed into another type; HTML gets a
    strict policy; API answers carry personal data and are not cached."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if headers.get(hdrs.CONTENT_TYPE, "").partition(";")[0].strip().lower() == "text/html":
        for name, value in HTML_HEADERS.items():
            headers.setdefault(name, value)
    if api:
        headers.setdefault("Cache-Control", "no-store")
