"""What an operator installs beside the package: the systemd unit, verified by systemd itself, and
`.env.example`, in step with the settings class."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from gateway.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "dargah.service"
ENV_EXAMPLE = ROOT / ".env.example"


def _directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_unit_runs_as_its_own_user_with_the_usual_hardening() -> None:
    unit = _directives(UNIT.read_text(encoding="utf-8"))
    assert unit["User"] == ["dargah"]
    assert unit["ExecStart"] == ["/opt/dargah/bin/dargah serve"]
    assert unit["EnvironmentFile"] == ["/etc/dargah/dargah.env"]
    assert unit["StateDirectory"] == ["dargah"]
    assert unit["Environment"] == ["GATEWAY_DB=/var/lib/dargah/dargah.db"]
    for key, value in {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "UMask": "0077",
        "SystemCallFilter": "@system-service", "RestartPreventExitStatus": "2",
    }.items():  # fmt: skip
        assert unit[key] == [value], key
    assert "ExecReload" not in unit  # the gateway does not reload in place: restart it
    assert "ProcSubset" not in unit  # it would hide /proc/stat, and the process metrics with it


def test_systemd_verifies_the_unit(tmp_path: Path) -> None:
    """`systemd-analyze verify` needs ExecStart's program to exist: a copy of the unit points at
    the console script installed beside this interpreter, and at an environment file made here."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI") in ("true", "1"):
            pytest.fail("CI needs systemd-analyze (Debian's systemd package)")
        pytest.skip("systemd-analyze is not installed")
    script = Path(sys.executable).parent / "dargah"
    assert script.exists(), "the console script `dargah` is installed with the package"
    env = tmp_path / "dargah.env"
    env.write_text("GATEWAY_PORT=8080\n", encoding="utf-8")
    text = UNIT.read_text(encoding="utf-8")
    text = text.replace("/opt/dargah/bin/dargah", str(script))
    text = text.replace("/etc/dargah/dargah.env", str(env))
    copy = tmp_path / "dargah.service"
    copy.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    # An unknown or misspelt directive is only a warning: none may name the unit.
    assert [line for line in done.stderr.splitlines() if copy.name in line] == []
    # The same check sees a misspelling, so the one above proves something.
    copy.write_text(text.replace("ProtectSystem=", "ProtectSystm="), encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    assert "Unknown key 'ProtectSystm'" in done.stderr


def _written(value: object) -> str:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None or value in ({}, []):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):  # a range of lengths: 6-20
        return "-".join(str(v) for v in value)
    return str(value)


def test_env_example_lists_every_setting_with_its_default() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    listed: dict[str, str] = {}
    for line in lines:
        m = re.fullmatch(r"# (GATEWAY_[A-Z0-9_]+)=(.*)", line)
        if m is not None:
            assert m.group(1) not in listed, f"{m.group(1)} twice"
            listed[m.group(1)] = m.group(2)
    defaults = {
        f"GATEWAY_{name.upper()}": _written(field.get_default(call_default_factory=True))
        for name, field in Settings.model_fields.items()
    }
    assert listed == defaults
    # Each setting has its meaning on the line above, a comment or another setting of its group.
    for i, line in enumerate(lines):
        if line.startswith("# GATEWAY_"):
            assert lines[i - 1].startswith("#"), line


def test_env_example_as_written_is_a_valid_configuration(tmp_path: Path) -> None:
    """Every line uncommented gives the defaults again."""
    env = tmp_path / ".env"
    env.write_text(
        "\n".join(
            line[2:] for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
            if line.startswith("# GATEWAY_")
        ),
        encoding="utf-8",
    )  # fmt: skip
    assert Settings(_env_file=env) == Settings(_env_file=None)
