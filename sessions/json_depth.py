"""How deep a JSON body may nest, checked before it is parsed: the standard parser recurses once
per level, and a body thousands of levels deep would exhaust the interpreter's stack."""

from __future__ import annotations

import re

# No request the gateway serves nests past four levels; a little room for an operator's extras.
MAX_DEPTH = 16

_OPENERS = (b"[", b"{")
# A JSON string, escapes included (brackets inside one nest nothing), or a bracket. A string left
# open runs to the end, so the scan is one pass whatever the body holds.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


class TooDeep(ValueError):
    """The body nests deeper than `MAX_DEPTH`."""

    code = "too_deep"

    def __init__(self) -> None:
        super().__init__(f"the JSON body may nest at most {MAX_DEPTH} levels deep")


def check_depth(raw: bytes | str) -> None:
    """Raises TooDeep when `raw` opens more than MAX_DEPTH arrays or objects inside each other.
    A body with no more openers than that in all (every operator hop) is passed at the cost of
    two counts."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if data.count(_OPENERS[0]) + data.count(_OPENERS[1]) <= MAX_DEPTH:
        return
    level = 0
    for token in _TOKEN.findall(data):
        if token in _OPENERS:
            level += 1
            if level > MAX_DEPTH:
                raise TooDeep()
        elif token[0] != 0x22:  # a closing bracket; a string (0x22 is `"`) nests nothing
            level -= 1
