"""Helpers for the `/v1` API tests: keys, requests, and what was written."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.appkeys import DEPS, STORAGE
from gateway.web.auth import new_api_key
from sessions.ports import Storage
from sessions.sealing import read_otp_payload
from sessions.services.deps import Deps

Client = TestClient[Any, Any]
ALL_SCOPES = ("records", "complaints", "resets", "notify")


async def bearer(client: Client, *scopes: str, name: str = "portal") -> dict[str, str]:
    """Headers carrying a new key with `scopes` (every scope when none is named)."""
    key, record = new_api_key(name, frozenset(scopes or ALL_SCOPES), 0.0)
    await storage(client).add_api_key(record)
    return {"Authorization": f"Bearer {key}"}


def storage(client: Client) -> Storage:
    app: web.Application = client.app
    return app[STORAGE]


def deps(client: Client) -> Deps:
    app: web.Application = client.app
    return app[DEPS]


async def call(
    client: Client,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Any = None,
    *,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    """One request; answers (status, parsed JSON body)."""
    kwargs: dict[str, Any] = {"headers": headers}
    if raw is not None:
        kwargs["data"] = raw
    elif body is not None:
        kwargs["json"] = body
    async with client.request(method, path, **kwargs) as resp:
        assert resp.content_type == "application/json"
        return resp.status, await resp.json()


async def sms(client: Client, recipient: str | None = None) -> list[dict[str, Any]]:
    """The outbox's rows, each with its `text` as the provider gets it (a sealed one opened)."""
    return opened(deps(client), await storage(client).outbox_messages(recipient))


def opened(d: Deps, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        sealed = row["sealed"]
        assert d.sealer is not None
        row["text"] = d.sealer.open(bytes(sealed)) if sealed is not None else row["body"]
        if sealed is not None and row.get("otp"):  # a verification code: text and code sealed
            row["text"], row["code"] = read_otp_payload(row["text"])
    return rows
