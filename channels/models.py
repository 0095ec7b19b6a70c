"""The normalised models every dialect parses into and renders from, and the dialect contract.

The hop and reply types are the core's (`sessions.hop`); they are re-exported here because this is
where a dialect author looks for them.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from sessions.hop import SessionEvent, UssdHop, UssdReply

__all__ = ["BadCallback", "Dialect", "SessionEvent", "UssdHop", "UssdReply"]


class BadCallback(Exception):
    """A callback the gateway cannot use; answered 400 with the stable code and the fields."""

    def __init__(self, code: str, fields: list[str], message: str) -> None:
        super().__init__(message)
        self.code = code
        self.fields = fields
        self.message = message


class Dialect(Protocol):
    name: str

    async def parse(self, request: web.Request) -> UssdHop: ...

    def render(self, reply: UssdReply, hop: UssdHop) -> web.Response: ...
