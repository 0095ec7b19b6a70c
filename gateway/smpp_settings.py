"""`GATEWAY_SMPP_LINKS`: the SMPP binds, a JSON list of objects, read into `SmppLinkConfig`s.

The whole setting is a secret (it carries the binds' passwords): an error names the link and the
field at fault, never a value.

    [{"name": "mci", "host": "smsc.mci.example", "port": 2775, "system_id": "ssoesme",
      "password": "…", "source_addr": "3000123", "rate_per_s": 100, "window": 20}]
"""

from __future__ import annotations

import json
import re
from dataclasses import fields

from providers.config import SmppLinkConfig

_NAME = re.compile(r"^[a-z0-9_-]{1,32}$")
_REQUIRED = ("name", "host", "port", "system_id", "password")
_INTS = {"port", "source_ton", "source_npi", "dest_ton", "dest_npi", "window", "max_parts",
         "registered_delivery"}  # fmt: skip
_FLOATS = {"rate_per_s", "response_timeout_s", "bind_timeout_s", "rebind_base_s", "rebind_cap_s"}
_STRINGS = {"name", "host", "system_id", "password", "system_type", "source_addr"}
_KNOWN = {f.name for f in fields(SmppLinkConfig)} - {"mo_window_s"}


def _link(item: object, at: int, mo_window_s: float) -> SmppLinkConfig:
    where = f"GATEWAY_SMPP_LINKS[{at}]"
    if not isinstance(item, dict):
        raise ValueError(f"{where} is not an object")
    unknown = sorted(set(item) - _KNOWN)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
    missing = [name for name in _REQUIRED if item.get(name) in (None, "")]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    values: dict[str, object] = {}
    for key, value in item.items():
        ok = (
            (key in _STRINGS and isinstance(value, str))
            or (key in _INTS and isinstance(value, int) and not isinstance(value, bool))
            or (key in _FLOATS and isinstance(value, int | float) and not isinstance(value, bool))
        )
        if not ok:
            raise ValueError(f"{where}: {key} has the wrong type")
        values[key] = float(value) if key in _FLOATS else value
    if not _NAME.match(str(values["name"])):
        raise ValueError(f"{where}: name must be 1-32 of a-z, 0-9, _ and -")
    # SMPP 3.4's C-octet strings (§5.2): longer values are refused here, not on the wire.
    for key, most in (("system_id", 15), ("password", 8), ("system_type", 12), ("source_addr", 20)):
        if len(str(values.get(key, "")).encode()) > most:
            raise ValueError(f"{where}: {key} is longer than SMPP allows ({most} octets)")
    port = int(values["port"])  # type: ignore[call-overload]
    if not 1 <= port <= 65535:
        raise ValueError(f"{where}: port out of range")
    for key in ("window", "max_parts"):
        if key in values and not 1 <= int(values[key]) <= 255:  # type: ignore[call-overload]
            raise ValueError(f"{where}: {key} must be 1-255")
    for key in _FLOATS & set(values):
        if float(values[key]) <= 0:  # type: ignore[arg-type]
            raise ValueError(f"{where}: {key} must be positive")
    return SmppLinkConfig(**values, mo_window_s=mo_window_s)  # type: ignore[arg-type]


def parse_smpp_links(raw: str, mo_window_s: float = 600.0) -> tuple[SmppLinkConfig, ...]:
    raw = raw.strip()
    if not raw:
        return ()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # nested past the parser's depth too
        raise ValueError("GATEWAY_SMPP_LINKS is not JSON") from None
    if not isinstance(data, list):
        raise ValueError("GATEWAY_SMPP_LINKS must be a JSON list of links")
    links = tuple(_link(item, i, mo_window_s) for i, item in enumerate(data))
    names = [link.name for link in links]
    if len(set(names)) != len(names):
        raise ValueError("GATEWAY_SMPP_LINKS: two links share a name")
    return links
