"""Per-key locks shared by every process that opens one SQLite file.

A key is one byte of a lock file beside the database (`<db>.locks`), taken with a POSIX record
lock: two syscalls a hop, and the kernel drops a dead process's locks, so a crash never leaves a
session locked. Within a process, keys are counted per byte, because a process's record locks on
one byte are one lock: the byte is released only when the last key of the process on it is done.
Two keys sharing a byte (one in 2^40) merely wait for each other. POSIX record locks belong to the
process, and closing any descriptor of the file drops them all: a process opens the lock file once,
with its one storage.

One more byte, past the keys', picks the one writer among the processes (`writer`).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import time

from sessions.ports import Busy

LOCK_SUFFIX = ".locks"
MIGRATION_SLOT = 0  # the byte that serialises schema migrations between processes
_SLOTS = 1 << 40
WRITER_SLOT = _SLOTS  # past every key's byte
_WRITER_NAP_S = 0.00005
WRITER_WAIT_S = 5.0  # as long as SQLite's own busy timeout
_FIRST_WAIT_S = 0.0005
_LONGEST_WAIT_S = 0.02
WAIT_LIMIT_S = 10.0


def slot_of(key: str) -> int:
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return 1 + int.from_bytes(digest, "big") % (_SLOTS - 1)


class FileLocks:
    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._held: dict[int, int] = {}

    def _try(self, slot: int) -> bool:
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, slot)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                return False
            raise
        return True

    async def _acquire(self, slot: int, limit_s: float = WAIT_LIMIT_S) -> None:
        if self._held.get(slot, 0) == 0 and not self._try(slot):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + limit_s
            wait = _FIRST_WAIT_S
            while self._held.get(slot, 0) == 0 and not self._try(slot):
                if loop.time() > deadline:
                    raise Busy(f"lock slot busy for over {limit_s:g} s")
                await asyncio.sleep(wait)
                wait = min(wait * 2, _LONGEST_WAIT_S)
        self._held[slot] = self._held.get(slot, 0) + 1

    def _release(self, slot: int) -> None:
        if self._fd < 0:  # closed: the kernel has already dropped every lock
            return
        users = self._held[slot] - 1
        if users:
            self._held[slot] = users
            return
        del self._held[slot]
        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, slot)

    def writer(self) -> _Writer:
        return _Writer(self)

    def hold(self, key: str) -> _Held:
        return _Held(self, slot_of(key))

    def hold_slot(self, slot: int, limit_s: float = WAIT_LIMIT_S) -> _Held:
        return _Held(self, slot, limit_s)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # the kernel drops every lock this process held on the file
            self._fd = -1
            self._held.clear()


class _Held:
    """`async with`: a class rather than a generator, as it runs on every hop."""

    __slots__ = ("_limit_s", "_locks", "_slot")

    def __init__(self, locks: FileLocks, slot: int, limit_s: float = WAIT_LIMIT_S) -> None:
        self._locks = locks
        self._slot = slot
        self._limit_s = limit_s

    async def __aenter__(self) -> None:
        locks, slot = self._locks, self._slot
        held = locks._held.get(slot, 0)
        if held or locks._try(slot):  # free, as almost always: taken without another coroutine
            locks._held[slot] = held + 1
            return
        await locks._acquire(slot, self._limit_s)

    async def __aexit__(self, *exc: object) -> None:
        self._locks._release(self._slot)


class _Writer:
    """`with`, around one short write transaction: the writer among the processes. It waits as
    SQLite's own lock does, without yielding, so the loop does not start more work it would then
    hold up; but it naps 50 µs at a time where SQLite's busy handler first sleeps a whole
    millisecond, so a process finds the lock free soon after the other's commit. With two workers
    on one file: 4–8% more hops and a lower p99 in paired runs (bench/RESULTS.md). The body of a
    transaction never suspends (SQLite is driven from the loop), so the byte is held for as long
    as its statements run. SQLite's lock stays the backstop for a writer that does not take this
    one (the `sqlite3` shell)."""

    __slots__ = ("_locks",)

    def __init__(self, locks: FileLocks) -> None:
        self._locks = locks

    def __enter__(self) -> None:
        deadline = 0.0
        while not self._locks._try(WRITER_SLOT):
            now = time.monotonic()
            if not deadline:
                deadline = now + WRITER_WAIT_S
            elif now > deadline:
                raise Busy(f"another process has been writing for over {WRITER_WAIT_S:g} s")
            time.sleep(_WRITER_NAP_S)

    def __exit__(self, *exc: object) -> None:
        if self._locks._fd >= 0:
            fcntl.lockf(self._locks._fd, fcntl.LOCK_UN, 1, WRITER_SLOT)
