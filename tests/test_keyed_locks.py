"""The per-key lock that orders one session's hops within a process."""

from __future__ import annotations

import asyncio

from sessions.locks import KeyedLocks


async def _hop(locks: KeyedLocks, key: str, log: list[str], name: str) -> None:
    async with locks.hold(key):
        log.append(f"{name} in")
        await asyncio.sleep(0.01)
        log.append(f"{name} out")


async def test_hops_of_one_key_run_one_at_a_time_in_arrival_order() -> None:
    locks, log = KeyedLocks(), list[str]()
    await asyncio.gather(*(_hop(locks, "s1", log, n) for n in "abc"))
    assert log == ["a in", "a out", "b in", "b out", "c in", "c out"]
    assert len(locks) == 0  # nothing is kept for a key once its hops are done


async def test_other_keys_do_not_wait() -> None:
    locks, log = KeyedLocks(), list[str]()
    await asyncio.gather(_hop(locks, "s1", log, "a"), _hop(locks, "s2", log, "b"))
    assert log[:2] == ["a in", "b in"]


async def test_a_cancelled_waiter_neither_blocks_nor_takes_the_key() -> None:
    locks, log = KeyedLocks(), list[str]()
    first = asyncio.create_task(_hop(locks, "s1", log, "a"))
    await asyncio.sleep(0)
    doomed = asyncio.create_task(_hop(locks, "s1", log, "x"))
    last = asyncio.create_task(_hop(locks, "s1", log, "c"))
    await asyncio.sleep(0)
    doomed.cancel()
    await asyncio.gather(first, last, doomed, return_exceptions=True)
    assert log == ["a in", "a out", "c in", "c out"]
    assert len(locks) == 0


async def test_a_waiter_cancelled_as_it_is_handed_the_key_passes_it_on() -> None:
    locks, log = KeyedLocks(), list[str]()
    gate = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def holder() -> None:
        async with locks.hold("s1"):
            await gate.wait()
        tasks[0].cancel()  # in the same turn: handed the key, it has not run yet

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(_hop(locks, "s1", log, "x")))
    last = asyncio.create_task(_hop(locks, "s1", log, "c"))
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, tasks[0], last, return_exceptions=True)
    assert tasks[0].cancelled()
    assert log == ["c in", "c out"]
    assert len(locks) == 0
