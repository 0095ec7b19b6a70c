"""py-spy on the gateway under wrk load, summarised per cost centre of a hop.

py-spy samples every thread (`--threads`) without pausing the process (`--nonblocking`); idle
samples are left out, so the shares below are of busy time. The event loop's thread and
aiosqlite's worker thread are reported apart: the first is the one that limits a single process.

    python -m bench.profile PROFILE.txt     # summarise a raw py-spy file again
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import say

# First match wins, tested against the stack from the leaf up to the root, so that a frame's
# own cost lands in the most specific centre (json inside put_session counts as serialisation).
CENTRES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("logging", re.compile(r"\(logging/|gateway/logs\.py|masking\.py")),
    ("state JSON (dumps/loads) and State dict", re.compile(r"\(json/|sessions/state\.py|asdict")),
    ("screen rendering (render_pages, fitting)", re.compile(r"sessions/screens\.py")),
    ("menu engine and flows", re.compile(r"sessions/engine\.py|sessions/flows/|normalize\.py")),
    ("session/lock logic (UssdSessions)", re.compile(r"sessions/ussd\.py|sessions/locks\.py")),
    ("aiosqlite hand-off (futures, queue)", re.compile(r"aiosqlite/")),
    ("storage layer (SQL, rows)", re.compile(r"gateway/storage/")),
    (
        "form parsing and field checks",
        re.compile(r"BaseRequest\.post|multidict|parse_qsl|channels/|validators\.py|urllib/parse"),
    ),
    ("aiohttp response writing", re.compile(r"web_response\.py|http_writer\.py|StreamResponse")),
    ("aiohttp request parsing/protocol", re.compile(r"aiohttp/")),
    ("asyncio loop, transports and tasks", re.compile(r"asyncio/|selectors\.py")),
)
OTHER = "other"
# Leaf frames that are waits, not work (py-spy's --nonblocking mode cannot always tell): the event
# loop in epoll, and aiosqlite's worker blocked on its queue (`tx.get()`, aiosqlite 0.22 line 59).
IDLE = re.compile(r"EpollSelector\.select|_connection_worker_thread \(.*aiosqlite/core\.py:59\)")
# The sqlite3 call itself: in aiosqlite's worker, or inline on the loop (bench/variant.py).
SQLITE_CALL = re.compile(
    r"_connection_worker_thread \(.*aiosqlite/core\.py:63\)|execute_inline \(.*bench/variant\.py"
)
FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _short(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    path = m["file"]
    for marker in ("site-packages/", "/lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker.startswith("/lib/"):
                path = path.split("/", 1)[1]
    return f"{m['func']} ({path})"


def _centre(frames: list[str]) -> str:
    if frames and SQLITE_CALL.search(frames[-1]):
        return "SQLite itself (the sqlite3 C call)"
    for frame in reversed(frames):
        for name, pattern in CENTRES:
            if pattern.search(frame):
                return name
    return OTHER


@dataclass
class ThreadProfile:
    samples: int = 0  # busy samples only
    idle: int = 0
    centres: Counter[str] = field(default_factory=Counter)
    self_time: Counter[str] = field(default_factory=Counter)
    inclusive: Counter[str] = field(default_factory=Counter)


@dataclass
class Profile:
    duration_s: float
    rate_hz: int
    requests: int
    threads: dict[str, ThreadProfile]

    def to_markdown(self, top: int = 12) -> str:
        out: list[str] = []
        total = self.duration_s * self.rate_hz
        for name, t in sorted(self.threads.items(), key=lambda kv: -kv[1].samples):
            if t.samples < total * 0.02:
                continue
            busy = 100 * t.samples / total
            out.append(f"**{name}**: busy {busy:.0f}% of the wall time")
            if self.requests:
                ms = 1000 * (t.samples / self.rate_hz) / self.requests
                out.append(f" ({ms:.2f} ms of this thread per hop).")
            out.append("\n\n| cost centre | share of busy time |\n| --- | ---: |\n")
            for centre, n in t.centres.most_common():
                out.append(f"| {centre} | {100 * n / t.samples:.1f}% |\n")
            out.append("\n| hottest functions (self) | share |\n| --- | ---: |\n")
            for frame, n in t.self_time.most_common(top):
                out.append(f"| `{frame}` | {100 * n / t.samples:.1f}% |\n")
            out.append("\n| inclusive (selected) | share |\n| --- | ---: |\n")
            shown = 0
            for frame, n in t.inclusive.most_common():
                if any(k in frame for k in _INTERESTING) and shown < top:
                    out.append(f"| `{frame}` | {100 * n / t.samples:.1f}% |\n")
                    shown += 1
            out.append("\n")
        return "".join(out)


_INTERESTING = (
    "handle_hop",
    "parse (channels",
    "form_fields",
    "BaseRequest.post",
    "UssdSessions._handle",
    "get_session",
    "put_session",
    "latest_open_session",
    "locked_session",
    "locked_read",
    "fetch_tuples",
    "SqliteBase.transaction",
    "Engine.",
    "render_pages",
    "to_dict",
    "from_dict",
    "dumps",
    "loads",
    "_execute",
    "render (channels",
    "_handle_request",
    "data_received",
    "at_edge",
    "execute (aiosqlite",
    "commit",
)


def summarise(raw: Path, duration_s: float, rate_hz: int, requests: int) -> Profile:
    threads: dict[str, ThreadProfile] = {}
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        head = frames[0]
        if head.startswith("thread ("):
            label = head.split(": ", 1)[1] if ": " in head else head
            name = "aiosqlite worker" if "_connection_worker_thread" in label else label
            frames = frames[1:]
        else:
            name = "main"
        if name.startswith("MainThread") or (name.startswith("thread (") and name == head):
            name = "event loop (MainThread)"
        t = threads.setdefault(name, ThreadProfile())
        if frames and IDLE.search(frames[-1]):
            t.idle += n
            continue
        t.samples += n
        short = [_short(f) for f in frames]
        t.centres[_centre(frames)] += n
        if short:
            t.self_time[short[-1]] += n
        for frame in set(short):
            t.inclusive[frame] += n
    return Profile(duration_s=duration_s, rate_hz=rate_hz, requests=requests, threads=threads)


def start_py_spy(
    py_spy: str, pid: int, seconds: float, out: Path, rate_hz: int
) -> subprocess.Popen[bytes]:
    cmd = [
        py_spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        str(rate_hz),
        "--format",
        "raw",
        "--nonblocking",
        "--threads",
        "--output",
        str(out),
    ]
    say("$ " + " ".join(cmd))
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    path = Path(sys.argv[1])
    print(summarise(path, float(sys.argv[2]) if len(sys.argv) > 2 else 10, 200, 0).to_markdown())
