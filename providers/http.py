"""What an HTTP provider's failed call means for the message: refused for sure, or unknown.

A call that never reached the provider (no connection made, the connect timed out) provably sent
nothing: retryable, and another provider may take the message. Once the request may have been
written, a timeout or a cut connection leaves the provider's decision unknown: it may have sent
the SMS and the answer was lost, so the message is never sent again blind (`AmbiguousError`).
"""

from __future__ import annotations

import aiohttp

from providers.base import AmbiguousError, ProviderError, RetryableError

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
