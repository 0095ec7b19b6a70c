"""Where the gateway's seal keys come from: `GATEWAY_SEAL_KEY` (comma-separated, the newest
first), or on SQLite, when none is set, a key file beside the database made 0600 on first start.
PostgreSQL needs the setting: every node must hold the same keys."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from gateway.settings import Settings
from sessions.sealing import Sealer, new_seal_key

KEY_FILE_SUFFIX = ".key"


def key_file(settings: Settings) -> Path | None:
    """The SQLite database's key file, or None (PostgreSQL, or a database in memory)."""
    url = settings.resolved_database_url()
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return None
    return Path(url.removeprefix("sqlite:///") + KEY_FILE_SUFFIX)


def _read_or_make(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(new_seal_key() + "\n")
    return path.read_text(encoding="ascii").strip()


def seal_keys(settings: Settings) -> list[str]:
    configured = [k.strip() for k in settings.seal_key.get_secret_value().split(",") if k.strip()]
    if configured:
        return configured
    path = key_file(settings)
    if path is None:
        if settings.resolved_database_url().endswith(":memory:"):
            return [new_seal_key()]  # nothing outlives the process: a key of its own will do
        raise ValueError("GATEWAY_SEAL_KEY is required with PostgreSQL (every node needs it)")
    return [k.strip() for k in _read_or_make(path).split(",") if k.strip()]


def load_sealer(settings: Settings) -> Sealer:
    return Sealer(seal_keys(settings))
