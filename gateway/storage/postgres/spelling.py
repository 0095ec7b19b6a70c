"""The stores' SQL, written with `?`, as PostgreSQL reads it: `$1, $2, …`."""

from __future__ import annotations

import re

_MARK = re.compile(r"\?")


def numbered(sql: str, first: int = 1) -> str:
    """The statement with `$first, $first+1, …` for its `?` marks (no statement here has a `?`
    in a literal)."""
    count = iter(range(first, 1_000_000))
    return _MARK.sub(lambda _: f"${next(count)}", sql)


_SPELLED: dict[str, str] = {}


def spelled(sql: str) -> str:
    """The statement with `$1, $2, …` for its `?` marks (no statement here has a `?` in a
    literal); remembered, as the stores use a fixed set of statements."""
    found = _SPELLED.get(sql)
    if found is None:
        found = numbered(sql)
        if len(_SPELLED) < 4096:
            _SPELLED[sql] = found
    return found
