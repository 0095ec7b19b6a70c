"""The provider registry: an explicit dict from `GATEWAY_SMS_PROVIDER` names to factories."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from gateway.settings import Settings
from providers.base import Provider
from providers.console import ConsoleProvider
from providers.kavenegar import KavenegarProvider
from providers.ratelimit import TokenBucket
from providers.smsir import SmsIrProvider

Factory = Callable[[Settings, aiohttp.ClientSession], Provider]


def _limiter(settings: Settings) -> TokenBucket:
    return TokenBucket(settings.provider_rate_per_s)


def _console(_settings: Settings, _session: aiohttp.ClientSession) -> Provider:
    return ConsoleProvider()


def _kavenegar(settings: Settings, session: aiohttp.ClientSession) -> Provider:
    key = settings.kavenegar_api_key.get_secret_value()
    if not key:
        raise ValueError("GATEWAY_KAVENEGAR_API_KEY is not set")
    return KavenegarProvider(
        session=session,
        api_key=key,
        sender=settings.kavenegar_sender,
        base_url=settings.kavenegar_base_url,
        timeout=settings.provider_timeout_s,
        limiter=_limiter(settings),
    )


def _smsir(settings: Settings, session: aiohttp.ClientSession) -> Provider:
    key = settings.smsir_api_key.get_secret_value()
    if not key:
        raise ValueError("GATEWAY_SMSIR_API_KEY is not set")
    if not settings.smsir_sender:
        raise ValueError("GATEWAY_SMSIR_SENDER (the line number) is not set")
    return SmsIrProvider(
        session=session,
        api_key=key,
        sender=settings.smsir_sender,
        base_url=settings.smsir_base_url,
        timeout=settings.provider_timeout_s,
        limiter=_limiter(settings),
    )


PROVIDERS: dict[str, Factory] = {
    "console": _console,
    "kavenegar": _kavenegar,
    "smsir": _smsir,
}


def build_provider(name: str, settings: Settings, session: aiohttp.ClientSession) -> Provider:
    try:
        factory = PROVIDERS[name]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise ValueError(f"unknown SMS provider {name!r} (known: {known})") from None
    return factory(settings, session)
