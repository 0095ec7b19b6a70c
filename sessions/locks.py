"""Per-key locks, so two hops of one session are handled one after the other."""

from __future__ import annotations

import asyncio
from collections import deque


class KeyedLocks:
    """A key is held while it is in `_queues`; its queue holds the futures of the hops waiting
    for it, each handed the key in turn. A free key costs one dict entry, no Lock object: almost
    every hop finds its key free."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[asyncio.Future[None]]] = {}

    def hold(self, key: str) -> _Hold:
        return _Hold(self, key)

    async def _acquire(self, key: str) -> None:
        queue = self._queues.get(key)
        if queue is None:
            self._queues[key] = deque()
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release(key)  # handed the key as it was cancelled: pass it on
            elif waiter in queue:  # a release may already have dropped it
                queue.remove(waiter)
            raise

    def _release(self, key: str) -> None:
        queue = self._queues[key]
        while queue:
            waiter = queue.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the key goes straight to the next hop, in order
                return
        del self._queues[key]

    def __len__(self) -> int:
        return len(self._queues)


class _Hold:
    """`async with`: a class rather than a generator, as it runs on every hop."""

    __slots__ = ("_key", "_owner")

    def __init__(self, owner: KeyedLocks, key: str) -> None:
        self._owner = owner
        self._key = key

    async def __aenter__(self) -> None:
        queues = self._owner._queues
        if self._key not in queues:  # free, as almost always: taken without another coroutine
            queues[self._key] = deque()
            return
        await self._owner._acquire(self._key)

    async def __aexit__(self, *exc: object) -> None:
        self._owner._release(self._key)
