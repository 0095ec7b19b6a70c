"""A scripted phone for tests: Africa's Talking hops, `*`-joined history as an operator keeps it."""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp.test_utils import TestClient

_ids = itertools.count(1)


class Phone:
    def __init__(self, client: TestClient[Any, Any], msisdn: str = "+989121234567") -> None:
        self.client = client
        self.msisdn = msisdn
        self.session_id = ""
        self.history: list[str] = []

    async def dial(self, dial_string: str = "") -> str:
        self.session_id = f"ATUid_{next(_ids)}"
        self.history = [dial_string] if dial_string else []
        return await self._hop()

    async def send(self, answer: str) -> str:
        self.history.append(answer)
        return await self._hop()

    async def repeat(self) -> str:
        """The operator retries the last hop: same session, same text."""
        return await self._hop()

    async def _hop(self) -> str:
        resp = await self.client.post(
            "/ussd/africastalking",
            data={
                "sessionId": self.session_id,
                "serviceCode": "*4455#",
                "phoneNumber": self.msisdn,
                "networkCode": "43211",
                "text": "*".join(self.history),
            },
        )
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "text/plain"
        return await resp.text()


def screen(reply: str) -> str:
    return reply.split(" ", 1)[1]


def is_end(reply: str) -> bool:
    return reply.startswith("END ")
