"""The provider registry: an explicit dict from `GATEWAY_SMS_PROVIDER` names to factories."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from providers.base import Provider
from providers.config import Account, ProviderConfig
from providers.console import ConsoleProvider
from providers.kavenegar import KavenegarProvider
from providers.ratelimit import TokenBucket
from providers.smpp import SmppProvider
from providers.smsir import SmsIrProvider

Factory = Callable[[ProviderConfig, aiohttp.ClientSession], Provider]


def _limiter(config: ProviderConfig) -> TokenBucket:
    return TokenBucket(config.rate_per_s)


def _account(config: ProviderConfig, name: str, env: str) -> Account:
    account = config.accounts.get(name)
    if account is None or not account.api_key:
        raise ValueError(f"GATEWAY_{env}_API_KEY is not set")
    return account


def _console(config: ProviderConfig, _session: aiohttp.ClientSession) -> Provider:
    return ConsoleProvider(config.console_inbox)


def _kavenegar(config: ProviderConfig, session: aiohttp.ClientSession) -> Provider:
    account = _account(config, "kavenegar", "KAVENEGAR")
    return KavenegarProvider(
        session=session,
        api_key=account.api_key,
        sender=account.sender,
        base_url=account.base_url,
        timeout=config.timeout_s,
        verify_templates=account.verify_templates,
        limiter=_limiter(config),
    )


def _smsir(config: ProviderConfig, session: aiohttp.ClientSession) -> Provider:
    account = _account(config, "smsir", "SMSIR")
    if not account.sender:
        raise ValueError("GATEWAY_SMSIR_SENDER (the line number) is not set")
    return SmsIrProvider(
        session=session,
        api_key=account.api_key,
        sender=account.sender,
        base_url=account.base_url,
        timeout=config.timeout_s,
        verify_templates=account.verify_templates,
        limiter=_limiter(config),
    )


PROVIDERS: dict[str, Factory] = {
    "console": _console,
    "kavenegar": _kavenegar,
    "smsir": _smsir,
}


def _smpp(name: str, config: ProviderConfig) -> Provider:
    """`smpp` is the first configured link, `smpp:<link>` the one of that name."""
    wanted = name.partition(":")[2]
    for link in config.smpp_links:
        if not wanted or link.name == wanted:
            return SmppProvider(link)
    if not wanted:
        raise ValueError("GATEWAY_SMPP_LINKS has no link")
    raise ValueError(f"no SMPP link named {wanted!r} in GATEWAY_SMPP_LINKS")


def build_provider(name: str, config: ProviderConfig, session: aiohttp.ClientSession) -> Provider:
    if name == "smpp" or name.startswith("smpp:"):
        return _smpp(name, config)
    try:
        factory = PROVIDERS[name]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise ValueError(f"unknown SMS provider {name!r} (known: {known})") from None
    return factory(config, session)
