"""The command line as an operator's engineer meets it, each in a real process: the version, a
mistyped command, a taken port, the terminal phone's Ctrl-C and its refusals, help everywhere."""

from __future__ import annotations

import argparse
import asyncio
import os
import pty
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gateway.version import VERSION
from run import build_parser
from tests.live_gateway import ROOT, LiveGateway, free_port, gateway_env


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


def test_version() -> None:
    done = run("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"dargah {VERSION}"
    assert VERSION[0].isdigit()


def test_an_unknown_command_is_an_error_naming_the_commands() -> None:
    done = run("dail")  # was taken as an argument to `serve`
    assert done.returncode == 2
    assert "unknown command 'dail' (did you mean 'dial'?)" in done.stderr
    assert "serve, dial, check, create-api-key" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_taken_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for workers in (1, 2):
            env = gateway_env(tmp_path / "gateway.db", port, workers=workers)
            done = run("serve", env=env)
            assert done.returncode == 2
            assert done.stderr.splitlines() == [
                f"dargah: cannot listen on 127.0.0.1:{port}: Address already in use"
            ]


def test_every_option_of_every_command_has_help() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in [("dargah", parser), *commands.choices.items()]:
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, f"{name} {action.dest} has no help text"


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[LiveGateway]:
    gateway = LiveGateway(gateway_env(tmp_path / "gateway.db", free_port()), tmp_path / "log")
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


def _sigint_as_at_a_terminal() -> None:
    # A suite started in the background (`make test &`) ignores SIGINT, and an ignored signal is
    # inherited across exec; a person at a terminal starts dial with the default one.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def _dial(live: LiveGateway, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "run.py", "dial", "--url", live.base, *args, cwd=ROOT, env=live.env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, preexec_fn=_sigint_as_at_a_terminal,
    )  # fmt: skip


async def test_dial_ends_at_once_on_ctrl_c_at_the_prompt(live: LiveGateway) -> None:
    proc = await _dial(live)
    assert proc.stdout is not None
    # The first screen, then the prompt waits on a stdin that stays open.
    while b"\xe2\x94\x94" not in await proc.stdout.readline():  # └: the screen's last line
        pass
    await asyncio.sleep(0.3)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    code = await asyncio.wait_for(proc.wait(), timeout=5)
    assert code == 130
    assert time.monotonic() - started < 3
    assert proc.stderr is not None
    assert b"Traceback" not in await proc.stderr.read()


async def test_dial_prints_a_refused_number_as_a_sentence(live: LiveGateway) -> None:
    proc = await _dial(live, "--msisdn", "12345")
    _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 1
    assert err.decode().strip() == (
        "the gateway refused the call: phoneNumber is not an Iranian mobile number. "
        "Check --msisdn: an Iranian mobile such as 09121234567."
    )
    assert b"{" not in err


async def test_dial_edits_the_line_with_readline(aiohttp_server: Any) -> None:
    """At a terminal, an arrow key moves in the line (readline) instead of sending `^[[D`."""
    texts: list[str] = []

    async def hop(request: web.Request) -> web.Response:
        texts.append(str((await request.post())["text"]))
        return web.Response(text="CON a screen\n1. one")

    app = web.Application()
    app.router.add_post("/ussd/africastalking", hop)
    server = await aiohttp_server(app)
    main, child = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "run.py", "dial", "--url", str(server.make_url("")), cwd=ROOT,
        stdin=child, stdout=child, stderr=child, start_new_session=True,
    )  # fmt: skip
    os.close(child)
    try:
        seen = b""
        while seen.count(b"> ") < 1:
            seen += await asyncio.to_thread(os.read, main, 1024)
        os.write(main, b"1\x1b[D2\r")  # 1, left arrow, 2: the line reads "21"
        while seen.count(b"> ") < 2:
            seen += await asyncio.to_thread(os.read, main, 1024)
        os.write(main, b"\x04")  # Ctrl-D: the call ends
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
        os.close(main)
    assert texts == ["", "21"]
    assert b"^[[D" not in seen
