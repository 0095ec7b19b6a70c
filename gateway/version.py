"""The gateway's version, as installed (`pyproject.toml`): `--version`, `build_info`, OpenAPI."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("dargah")
except PackageNotFoundError:  # run from a checkout that was never installed
    VERSION = "0+unknown"
