"""The unchanged gateway, run with one thing changed from outside, to weigh a recommendation by
measurement before anyone writes it. Not a way to run the gateway in production.

    python -m bench.variant inline-sqlite,uvloop serve --port 18104

- `inline-sqlite`: aiosqlite calls run on the event loop's thread instead of being handed to
  aiosqlite's worker thread and back (the connection is opened with check_same_thread=False).
  Same SQL, same transactions, same WAL file and synchronous=NORMAL: it prices the thread
  hand-offs, the largest cost the profile shows.
- `uvloop`: the event loop is uvloop's (installed into the venv on demand, not a dependency).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

VARIANTS = ("inline-sqlite", "uvloop")


def _inline_sqlite() -> None:
    import aiosqlite
    import aiosqlite.core

    connect = aiosqlite.connect

    def connect_anywhere(*args: Any, **kwargs: Any) -> aiosqlite.Connection:
        kwargs["check_same_thread"] = False
        return connect(*args, **kwargs)

    async def execute_inline(
        self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    aiosqlite.connect = connect_anywhere
    aiosqlite.core.Connection._execute = execute_inline  # type: ignore[method-assign]


def _uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "uvloop"], check=True, timeout=300
        )
        import uvloop
    uvloop.install()


def main(argv: list[str]) -> int:
    chosen = [v for v in argv[0].split(",") if v]
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        print(f"unknown variant(s) {unknown}; choose from {VARIANTS}", file=sys.stderr)
        return 2
    if "inline-sqlite" in chosen:
        _inline_sqlite()
    if "uvloop" in chosen:
        _uvloop()
    import run

    return run.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
