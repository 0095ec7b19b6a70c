"""The pages in a real browser: Debian's Chromium and its chromedriver, driven by Selenium, against
a real gateway process (`run.py serve --demo`) on a free loopback port. One browser and one gateway
serve a whole test module; screenshots go under the test run's temporary directory."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sessions.sealing import new_seal_key
from tests import postgres_kit
from tests.live_gateway import ROOT, free_port, gateway_env

T = TypeVar("T")
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
KEY = re.compile(r"dgk_[A-Za-z0-9]{12}_[A-Za-z0-9_\-]{43}")


def chromium() -> tuple[str, str] | None:
    """The installed browser and its driver, or None."""
    browser = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def need_chromium() -> tuple[str, str]:
    found = chromium()
    if found is None:
        pytest.skip(
            "no Chromium here: apt-get install chromium chromium-driver (.ci/run does) "
            "to run the browser tests"
        )
    return found


class Gateway:
    """A gateway process with the demo loaded: its base URL and the demo's all-scope key."""

    def __init__(self, workdir: Path, **settings: object) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "gateway.log"
        self._stack = ExitStack()
        url = postgres_kit.backend_url()
        self._database: str | None = None
        if url is not None:  # the PostgreSQL leg: a schema of its own, dropped after
            self._database = self._stack.enter_context(postgres_kit.fresh_schema(url))
            settings = {"database_url": self._database, "seal_key": new_seal_key(), **settings}
        self._file = workdir / "gateway.db"
        env = gateway_env(self._file, self.port, **settings)
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "run.py", "serve", "--demo"], cwd=ROOT, env=env,
            stdout=self._out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.key = wait_for(self._ready, 30, "the gateway to start")

    def _ready(self) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"the gateway exited: {self.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as resp:  # noqa: S310
                if resp.status != 200:
                    return None
        except (OSError, urllib.error.URLError):
            return None
        found = KEY.search(self.log.read_text(errors="replace"))
        return found.group(0) if found else None

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310
            self.base + path, data=data, method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def execute(self, sql: str) -> None:
        """One statement on the gateway's own database, as an operator's psql or sqlite3 would."""
        if self._database is not None:
            postgres_kit.execute(self._database, sql)
            return
        with contextlib.closing(sqlite3.connect(self._file, timeout=10)) as conn, conn:
            conn.execute(sql)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()
        self._stack.close()


def wait_for(probe: Callable[[], T | None], limit_s: float, what: str) -> T:
    """Polls `probe` until it answers something (true: not None, empty or False)."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            found = probe()
        except Exception as exc:
            # The page replaced what was read meanwhile, or the next page is not in yet after a
            # click: read it again.
            # Chromium reports a node read while its document is replaced either as stale or,
            # mid-navigation, as an inspector error naming a node of another document.
            stale = type(exc).__name__ in (
                "StaleElementReferenceException",
                "NoSuchElementException",
            ) or "does not belong to the document" in str(exc)
            if not stale:
                raise
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {limit_s:.0f} s for {what}")
        time.sleep(0.1)


def start_browser(binary: str, driver: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--lang=fa", "--no-first-run"):  # fmt: skip
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    binary, driver = need_chromium()
    # Selenium's own driver manager would try to download one: the installed driver is used.
    os.environ.setdefault("SE_OFFLINE", "true")
    session = start_browser(binary, driver)
    try:
        yield session
    finally:
        session.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots", numbered=False)
    print(f"screenshots: {folder}")
    return folder
