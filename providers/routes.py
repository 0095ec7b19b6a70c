"""Routes by operator: which providers a recipient's message goes through, in order.

A route matches recipients by prefix (the longest matching prefix wins) and lists providers in
order of preference; the dispatcher takes the first one that is up, and where a provider refuses
the destination itself (an SMSC that does not serve a number moved to another operator) the next
one. Each route caps its own throughput.

`GATEWAY_SMS_ROUTES` (JSON), e.g.
    [{"name": "mci", "prefixes": ["0910", "0991"], "providers": ["smpp:mci", "kavenegar"],
      "rate_per_s": 100}]
Without it, the operator prefixes of the domain (MCI, Irancell, Rightel) are the table, each
route sent through an SMPP link of the operator's name where one is configured, then through the
primary provider and the fallback; a number no route matches goes through the primary and the
fallback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from providers.ratelimit import TokenBucket

# DOMAIN.md: MCI 910–919, 990–996; Irancell 900–905, 930, 933, 935–939, 941; Rightel 920–923.
OPERATOR_PREFIXES: dict[str, tuple[str, ...]] = {
    "mci": tuple(f"09{n}" for n in [*range(10, 20), *range(90, 97)]),
    "irancell": tuple(f"09{n:02d}" for n in [*range(0, 6), 30, 33, *range(35, 40), 41]),
    "rightel": tuple(f"09{n}" for n in range(20, 24)),
}
_NAME = re.compile(r"^[a-z0-9_-]{1,32}$")
_PROVIDER = re.compile(r"^(console|kavenegar|smsir|smpp(:[a-z0-9_-]{1,32})?)$")


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    prefixes: tuple[str, ...]
    providers: tuple[str, ...]
    rate_per_s: float | None = None


class RouteTable:
    def __init__(self, routes: Sequence[Route], default: Sequence[str]) -> None:
        self.routes = tuple(routes)
        self.default = Route("default", (), tuple(default))
        self._by_prefix = sorted(
            ((p, r) for r in self.routes for p in r.prefixes), key=lambda pr: -len(pr[0])
        )
        self.limiters = {
            r.name: TokenBucket(r.rate_per_s) for r in self.routes if r.rate_per_s is not None
        }

    def route_for(self, recipient: str) -> Route:
        for prefix, route in self._by_prefix:
            if recipient.startswith(prefix):
                return route
        return self.default

    def provider_names(self) -> list[str]:
        names: list[str] = []
        for route in (*self.routes, self.default):
            names.extend(n for n in route.providers if n not in names)
        return names


def default_table(primary: str, fallback: str | None, smpp_links: Sequence[str]) -> RouteTable:
    chain = [primary] + ([fallback] if fallback and fallback != primary else [])
    routes = []
    for operator, prefixes in OPERATOR_PREFIXES.items():
        own = [f"smpp:{operator}"] if operator in smpp_links else []
        providers = own + [p for p in chain if p not in own and p != f"smpp:{operator}"]
        routes.append(Route(operator, prefixes, tuple(providers)))
    return RouteTable(routes, chain)


def parse_routes(
    raw: str, primary: str, fallback: str | None, smpp: str = "smpp"
) -> RouteTable | None:
    """The table in `GATEWAY_SMS_ROUTES`, or None when it is empty. Errors name the route and
    the field at fault."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # nested past the parser's depth too
        raise ValueError("GATEWAY_SMS_ROUTES is not JSON") from None
    if not isinstance(data, list):
        raise ValueError("GATEWAY_SMS_ROUTES must be a JSON list of routes")
    routes = []
    for i, item in enumerate(data):
        where = f"GATEWAY_SMS_ROUTES[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where} is not an object")
        unknown = sorted(set(item) - {"name", "prefixes", "providers", "rate_per_s"})
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}")
        name, prefixes, providers = item.get("name"), item.get("prefixes"), item.get("providers")
        rate = item.get("rate_per_s")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"{where}: name must be 1-32 of a-z, 0-9, _ and -")
        if (
            not isinstance(prefixes, list)
            or not prefixes
            or not all(isinstance(p, str) and re.fullmatch(r"09\d{0,9}", p) for p in prefixes)
        ):
            raise ValueError(f"{where}: prefixes must be a list of mobile prefixes such as 0912")
        if (
            not isinstance(providers, list)
            or not providers
            or not all(isinstance(p, str) and _PROVIDER.match(p) for p in providers)
        ):
            raise ValueError(f"{where}: providers must be a list of provider names")
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0
        ):
            raise ValueError(f"{where}: rate_per_s must be a positive number")
        names = tuple(smpp if p == "smpp" else p for p in providers)  # `smpp`: the first link
        routes.append(Route(name, tuple(prefixes), names, float(rate) if rate else None))
    if len({r.name for r in routes}) != len(routes):
        raise ValueError("GATEWAY_SMS_ROUTES: two routes share a name")
    chain = [primary] + ([fallback] if fallback and fallback != primary else [])
    return RouteTable(routes, chain)
