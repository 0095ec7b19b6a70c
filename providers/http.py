"""What an HTTP provider's failed call means for the message: refused for sure, or unknown.

A call that never reached the provider (no connection made, the connect timed out) provably sent
nothing: retryable, and another provider may take the message. Once the request may have been
written, a timeout or a cut connection leaves the provider's decision unknown: it may have sent
the SMS and the answer was lost, so the message is never sent again blind (`AmbiguousError`).
"""

from __future__ import annotations

import aiohttp

from providers.base import AmbiguousError, ErrorKind, ProviderError, RetryableError, make_error

CONNECT_TIMEOUT_S = 5.0


def client_timeout(total_s: float) -> aiohttp.ClientTimeout:
    """A total bound, and a shorter one for the connect alone, which is told apart: a connect that
    timed out sent nothing."""
    return aiohttp.ClientTimeout(total=total_s, sock_connect=min(total_s, CONNECT_TIMEOUT_S))


def transport_error(exc: BaseException, where: str, provider: str) -> ProviderError:
    # str(exc) can hold the URL, and Kavenegar's URL holds the key: only the type is kept.
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return RetryableError("network", f"{where}: {type(exc).__name__}", provider)
    if isinstance(exc, TimeoutError):
        return AmbiguousError("timeout", f"{where}: no answer in time", provider)
    return AmbiguousError("network", f"{where}: {type(exc).__name__} after sending", provider)


def no_envelope(
    http_status: int, where: str, provider: str, refused_as: ErrorKind, code: str
) -> ProviderError:
    """An answer that is not the provider's envelope: an HTML page, an empty body, JSON of another
    shape, a status of the wrong type. Only a status that says the request was turned away before
    it was handled proves refusal: throttled or unavailable (retryable), any other 4xx (a proxy or
    a firewall refusing it: `refused_as`). A 2xx or any other 5xx (a proxy whose upstream may have
    taken it, a crash after the send) leaves the outcome unknown."""
    if http_status in (429, 503):  # throttled, unavailable: turned away, try again later
        return RetryableError(code, f"{where}: refused (http {http_status})", provider)
    if 400 <= http_status < 500:
        return make_error(refused_as, code, f"{where}: refused, no envelope", provider)
    why = f"{where}: an answer without an envelope (http {http_status})"
    return AmbiguousError(code, why, provider)


def strict_int(value: object) -> int:
    """An integer field as a provider sends it (a number, or digits in a string); ValueError for
    anything else (a word, a float, a bool), which a lenient int() would take."""
    if isinstance(value, bool):
        raise ValueError("a bool is not a status")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
        return int(value)
    raise ValueError(f"not an integer: {type(value).__name__}")
