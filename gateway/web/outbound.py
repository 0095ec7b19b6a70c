"""Where the gateway may call out to on a caller's word: a notification's `callback_url`.

A URL is allowed when it is `https` (plain `http` only to a host the operator lists in
`GATEWAY_CALLBACK_HOSTS`), carries no user name or password, and its host resolves only to public
addresses (a listed host may resolve anywhere, a private network included). An address written
in an unusual form (`2130706433`, `0x7f.1`, `[::ffff:127.0.0.1]`) is read as the address it
stands for. The URL is checked when it is given (`check_url`, a 400 naming the field) and the
address again when the connection is made (`GuardedResolver`): a name that resolved to a public
address at first and to 127.0.0.1 later (DNS rebinding) is refused then. Redirects are never
followed.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Collection
from ipaddress import IPv4Address, IPv6Address, ip_address

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

IpAddress = IPv4Address | IPv6Address
Lookup = Callable[[str, int], Awaitable[list[IpAddress]]]


class Refused(ValueError):
    """The URL or the address it leads to is not one the gateway may call."""


def normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def literal_address(host: str) -> IpAddress | None:
    """The address a host written as one stands for, in any form the C library would read
    (`127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`); None for a name."""
    host = normal_host(host)
    try:
        return ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host) and host[0].isdigit():
        try:
            return IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_public(address: IpAddress) -> bool:
    """Reachable on the internet: no loopback, private, link-local, shared, reserved, multicast
    or unspecified address, and an IPv4 address mapped into IPv6 judged as itself."""
    if isinstance(address, IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public(mapped)
    return address.is_global and not address.is_multicast


def check_url(url: str, listed: Collection[str]) -> URL:
    """The URL parsed, if its form is allowed (the scheme, no credentials, a literal address
    public unless listed); else Refused. Names are resolved by `check_resolved`."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        raise Refused("not a URL") from None
    host = normal_host(parsed.raw_host or "")
    if not host or not parsed.is_absolute():
        raise Refused("the URL needs a host")
    if parsed.scheme not in ("https", "http"):
        raise Refused("only https URLs are called")
    if parsed.user is not None or parsed.password is not None:
        raise Refused("a URL may not carry a user name or password")
    trusted = host in listed
    if parsed.scheme == "http" and not trusted:
        raise Refused("plain http is called only for hosts in GATEWAY_CALLBACK_HOSTS")
    address = literal_address(host)
    if address is not None and not trusted and not is_public(address):
        raise Refused(f"{address} is not a public address")
    return parsed


async def system_lookup(host: str, port: int) -> list[IpAddress]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def check_resolved(
    parsed: URL, listed: Collection[str], lookup: Lookup | None = None
) -> None:
    """Refused unless every address the URL's host resolves to now is public (or it is listed)."""
    host = normal_host(parsed.raw_host or "")
    if host in listed or literal_address(host) is not None:
        return
    try:
        addresses = await (lookup or system_lookup)(host, parsed.port or 443)
    except (OSError, UnicodeError):
        raise Refused(f"{host} could not be resolved") from None
    if not addresses:
        raise Refused(f"{host} could not be resolved")
    private = [a for a in addresses if not is_public(a)]
    if private:
        raise Refused(f"{host} resolves to {private[0]}, not a public address")


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing at connect time any address that is not public for a host
    that is not listed. aiohttp does not resolve an address written in the standard form, so
    such a URL is checked again by `check_url` before each call."""

    def __init__(self, listed: Collection[str], lookup: Lookup | None = None) -> None:
        self.listed = frozenset(normal_host(h) for h in listed)
        self.lookup = lookup

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        name = normal_host(host)
        try:
            addresses = await (self.lookup or system_lookup)(name, port)
        except (OSError, UnicodeError) as exc:
            raise OSError(f"{name} could not be resolved") from exc
        if name not in self.listed:
            private = [a for a in addresses if not is_public(a)]
            if private:
                raise OSError(f"refused: {name} resolves to {private[0]}, not a public address")
        return [
            ResolveResult(
                hostname=host,
                host=str(a),
                port=port,
                family=socket.AF_INET6 if a.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for a in addresses
        ]

    async def close(self) -> None:
        return None


def guarded_session(listed: Collection[str], lookup: Lookup | None = None) -> aiohttp.ClientSession:
    """A client session whose every connection goes through `GuardedResolver` (no cache: each
    connection resolves and checks afresh)."""
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(listed, lookup), use_dns_cache=False, limit=20
    )
    return aiohttp.ClientSession(connector=connector)
