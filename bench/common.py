"""What every benchmark step shares: servers as child processes, free loopback ports, wrk and its
parsed result, installing a missing tool. Everything talks to 127.0.0.1 only, and every wait is
bounded in time."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEER = BENCH / "peer"
LUA = BENCH / "ussd.lua"
OUT = BENCH / "out"
HOST = "127.0.0.1"
USSD_PATH = "/ussd/africastalking"


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def port_open(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_port(port: int, proc: subprocess.Popen[bytes] | None, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        if port_open(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {HOST}:{port} after {timeout_s:.0f} s")


def run_quiet(cmd: Sequence[str], timeout_s: float, cwd: Path | None = None) -> bool:
    say("$ " + " ".join(cmd))
    try:
        done = subprocess.run(
            list(cmd), cwd=cwd, timeout=timeout_s, capture_output=True, text=True, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        say(f"  failed: {exc}")
        return False
    if done.returncode != 0:
        say(f"  exit {done.returncode}: {(done.stderr or done.stdout)[-600:]}")
    return done.returncode == 0


def ensure_apt(binary: str, package: str) -> str | None:
    """The path of `binary`, installing Debian's `package` first when it is missing."""
    found = shutil.which(binary)
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt:
        run_quiet([apt, "update", "-qq"], timeout_s=180)
        run_quiet([apt, "install", "-y", "-qq", package], timeout_s=300)
    return shutil.which(binary)


class Server:
    """A child process serving on a loopback port; stopped with SIGINT, then SIGKILL."""

    def __init__(
        self,
        name: str,
        cmd: Sequence[str],
        port: int,
        env: Mapping[str, str] | None = None,
        cwd: Path = ROOT,
        log_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.cmd = list(cmd)
        self.port = port
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.log_path = (log_dir or OUT) / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout_s: float = 30.0) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.cmd, cwd=self.cwd, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            wait_port(self.port, self.proc, timeout_s)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def gateway_server(
    name: str, db: Path, port: int, variant: str = "", cwd: Path | str = ROOT, **env: str
) -> Server:
    """dargah as its users run it: `python run.py serve`, its own SQLite file, warnings only;
    with `variant`, the same under bench/variant.py (an experiment priced from outside); with
    `cwd`, the checkout in that folder (bench/ab.py)."""
    prefix = ["-m", "bench.variant", variant] if variant else ["run.py"]
    return Server(
        name,
        [sys.executable, *prefix, "serve", "--host", HOST, "--port", str(port)],
        port,
        env={
            "GATEWAY_DB": str(db),
            "GATEWAY_LOG_LEVEL": "WARNING",
            "GATEWAY_SMS_PROVIDER": "console",
            **env,
        },
        cwd=Path(cwd),
    )


@dataclass
class WrkResult:
    target: str
    connections: int
    threads: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    errors: int  # socket errors (connect, read, write, timeout) and non-2xx
    bad: int  # a 200 whose body does not start with "CON " / "END "
    ends: int
    sample: str
    load_before: float  # the 1-minute load average when the run started

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def clean(self) -> bool:
        return self.errors == 0 and self.bad == 0 and self.requests > 0


def combine(target: str, runs: Sequence[WrkResult]) -> WrkResult:
    """Rounds of one target as one result: requests and time summed, so requests/s is over all
    of them; each latency percentile the median of the rounds' (the maximum, the worst round's)."""
    seconds = sum(r.duration_s for r in runs)
    requests = sum(r.requests for r in runs)
    return WrkResult(
        target=target,
        connections=runs[0].connections,
        threads=runs[0].threads,
        duration_s=seconds,
        requests=requests,
        rps=requests / seconds if seconds else 0.0,
        p50_ms=statistics.median([r.p50_ms for r in runs]),
        p90_ms=statistics.median([r.p90_ms for r in runs]),
        p99_ms=statistics.median([r.p99_ms for r in runs]),
        max_ms=max(r.max_ms for r in runs),
        mean_ms=sum(r.mean_ms * r.requests for r in runs) / requests if requests else 0.0,
        errors=sum(r.errors for r in runs),
        bad=sum(r.bad for r in runs),
        ends=sum(r.ends for r in runs),
        sample=runs[0].sample,
        load_before=runs[0].load_before,
    )


def parse_bench_line(output: str) -> dict[str, str]:
    for line in output.splitlines():
        if line.startswith("BENCH "):
            pairs = (item.partition("=") for item in line[len("BENCH ") :].split(" "))
            return {k: v for k, _, v in pairs if k}
    raise ValueError("wrk printed no BENCH line:\n" + output[-2000:])


_TAGS_USED: set[int] = set()


def _fresh_tag() -> str:
    """Two digits no earlier run of this process used: keeps the callers of runs apart."""
    free = [t for t in range(20, 100) if t not in _TAGS_USED]
    tag = random.choice(free or list(range(20, 100)))
    _TAGS_USED.add(tag)
    return str(tag)


def wrk(
    wrk_bin: str,
    target: str,
    port: int,
    duration_s: float,
    connections: int = 64,
    threads: int = 2,
    path: str = USSD_PATH,
    script: Path | None = None,
) -> WrkResult:
    tag = _fresh_tag()
    cmd = [
        wrk_bin,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s:g}s",
        "--timeout",
        "5s",
        "-s",
        str(script or LUA),
        f"http://{HOST}:{port}{path}",
        "--",
        tag,
    ]
    load = os.getloadavg()[0]
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=duration_s + 30, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-1000:]}")
    f = parse_bench_line(done.stdout)
    requests = int(f["requests"])
    seconds = int(f["duration_us"]) / 1e6
    errors = sum(int(f[k]) for k in ("connect", "read", "write", "status", "timeout"))
    return WrkResult(
        target=target,
        connections=connections,
        threads=threads,
        duration_s=round(seconds, 2),
        requests=requests,
        rps=round(requests / seconds, 1) if seconds else 0.0,
        p50_ms=int(f["p50_us"]) / 1000,
        p90_ms=int(f["p90_us"]) / 1000,
        p99_ms=int(f["p99_us"]) / 1000,
        max_ms=int(f["max_us"]) / 1000,
        mean_ms=round(float(f["mean_us"]) / 1000, 3),
        errors=errors,
        bad=int(f["bad"]),
        ends=int(f["ends"]),
        sample=f.get("sample", "-"),
        load_before=round(load, 2),
    )


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) used so far by a process and its living children: a server
    and its workers."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # itself, or a child
            total += int(fields[11]) + int(fields[12])
    return total / tick


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    start = time.monotonic()
    yield
    say(f"{label}: {time.monotonic() - start:.1f} s")
