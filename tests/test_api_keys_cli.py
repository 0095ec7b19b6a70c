"""`run.py create-api-key`: the key is printed once, only its hash is stored, scopes are checked."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from gateway.storage import open_storage
from gateway.web.auth import authenticate

RUN = Path(__file__).resolve().parent.parent / "run.py"
KEY = re.compile(r"dgk_([A-Za-z0-9]{12})_([A-Za-z0-9_\-]{43})")


def secret_of(key: str) -> str:
    """The 43-character secret; it may itself hold `_`, so the key is not split on it."""
    match = KEY.fullmatch(key)
    assert match is not None, key
    return match.group(2)


async def create_key(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return await cli(tmp_path, "create-api-key", *args)


async def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_DB"] = str(tmp_path / "keys.db")
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(RUN), *args],
        cwd=tmp_path,  # no stray .env is read
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def any_file_holds(folder: Path, text: str) -> bool:
    return any(text.encode() in path.read_bytes() for path in folder.iterdir())


async def test_prints_the_key_once_and_stores_its_hash(tmp_path: Path) -> None:
    done = await create_key(tmp_path, "portal", "--scopes", "records, resets")
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert KEY.fullmatch(key)
    assert "shown once" in done.stderr
    assert key not in done.stderr
    secret = secret_of(key)
    db = tmp_path / "keys.db"
    assert not any_file_holds(tmp_path, secret)  # neither the database nor its WAL
    storage = await open_storage(f"sqlite:///{db}")
    try:
        stored = await authenticate(storage, f"Bearer {key}")
        assert stored is not None
        assert stored.name == "portal"
        assert stored.scopes == frozenset({"records", "resets"})
    finally:
        await storage.close()


async def test_unknown_scope_exits_2_and_stores_nothing(tmp_path: Path) -> None:
    done = await create_key(tmp_path, "portal", "--scopes", "records,admin")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "unknown scope(s): admin" in done.stderr
    assert "records" in done.stderr  # the message lists the valid scopes
    db = tmp_path / "keys.db"
    if db.exists():
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("SELECT COUNT(*) FROM api_keys").fetchone() == (0,)


async def test_no_scope_exits_2(tmp_path: Path) -> None:
    done = await create_key(tmp_path, "portal", "--scopes", " , ")
    assert done.returncode == 2
    assert "no scope given" in done.stderr


async def test_a_revoked_key_is_refused_from_then_on(tmp_path: Path) -> None:
    key = (await create_key(tmp_path, "leaked", "--scopes", "notify")).stdout.strip()
    storage = await open_storage(f"sqlite:///{tmp_path / 'keys.db'}")
    try:
        assert await authenticate(storage, f"Bearer {key}") is not None
        done = await cli(tmp_path, "revoke-api-key", key)
        assert done.returncode == 0, done.stderr
        assert secret_of(key) not in done.stdout + done.stderr  # the secret is never echoed
        assert await authenticate(storage, f"Bearer {key}") is None
    finally:
        await storage.close()
    unknown = await cli(tmp_path, "revoke-api-key", "abcdef123456")
    assert unknown.returncode == 1
    assert "no API key" in unknown.stderr


async def test_without_a_seal_key_on_postgresql_nothing_is_stored_and_one_line_says_why(
    tmp_path: Path,
) -> None:
    """The signing secret is sealed: a PostgreSQL gateway with no GATEWAY_SEAL_KEY refuses the
    command before it connects (port 9 answers nothing), instead of storing a key it never shows."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:9/none"
    for args in (("create-api-key", "portal", "--scopes", "notify"),
                 ("rotate-signing-secret", "portal")):  # fmt: skip
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, str(RUN), *args], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        assert done.stderr.strip() == (
            f"{args[0]}: GATEWAY_SEAL_KEY is required with PostgreSQL (every node needs it)"
        )
