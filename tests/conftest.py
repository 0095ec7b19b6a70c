"""Shared fixtures: a real gateway app on a temporary SQLite file, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.settings import Settings
from sessions.flows.base import Flow
from sessions.flows.registry import SERVICES


class FakeClock:
    def __init__(self, start: float = 1_763_800_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=tmp_path / "gateway.db", dispatcher_enabled=False, _env_file=None)


GatewayFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def gateway(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
    settings: Settings,
    clock: FakeClock,
) -> GatewayFactory:
    async def make(flows: Sequence[Flow] = SERVICES, **overrides: Any) -> TestClient[Any, Any]:
        # Validated like the environment would be (a key string becomes a SecretStr).
        cfg = Settings.model_validate({**settings.model_dump(), **overrides})
        return await aiohttp_client(create_app(cfg, clock=clock, flows=flows))

    return make
