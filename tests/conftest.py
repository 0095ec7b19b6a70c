"""Shared fixtures: a real gateway app on a temporary SQLite file, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from gateway.app import create_app
from gateway.settings import Settings
from sessions.flows.base import Flow
from sessions.flows.registry import SERVICES
from sessions.sealing import new_seal_key
from tests import postgres_kit

if TYPE_CHECKING:
    from tests.dispatch_kit import Fakes


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
def settings(tmp_path: Path) -> Iterator[Settings]:
    # With DARGAH_TEST_DATABASE_URL, each test gets an empty PostgreSQL schema of its own.
    url = postgres_kit.backend_url()
    if url is None:
        yield Settings(db=tmp_path / "gateway.db", dispatcher_enabled=False, _env_file=None)
        return
    with postgres_kit.fresh_schema(url) as scoped:
        yield Settings(
            db=tmp_path / "gateway.db",
            database_url=scoped,
            dispatcher_enabled=False,
            seal_key=SecretStr(new_seal_key()),  # every node of a cluster shares the key
            _env_file=None,
        )


@pytest.fixture(scope="module")
def pg_url() -> str:
    """A PostgreSQL server for the tests about PostgreSQL itself, whichever backend the suite
    runs on; skipped when none answers."""
    url = postgres_kit.reachable_url()
    if url is None:
        pytest.skip("no PostgreSQL answers (set DARGAH_TEST_DATABASE_URL)")
    return url


@pytest.fixture
def db_url(pg_url: str) -> Iterator[str]:
    """`pg_url` in a fresh schema of this test's own."""
    with postgres_kit.fresh_schema(pg_url) as url:
        yield url


@pytest.fixture(scope="session", autouse=True)
def _postgres_sweep() -> Iterator[None]:
    yield
    url = postgres_kit.backend_url()
    if url is not None:
        postgres_kit.sweep(url)


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


@pytest.fixture
async def fakes(aiohttp_server: Any, clock: FakeClock) -> Fakes:
    """Fake Kavenegar and sms.ir servers on loopback ports, on the test's clock."""
    from tests.dispatch_kit import start_fakes

    return await start_fakes(aiohttp_server, clock)


@pytest.fixture
async def kave(gateway: GatewayFactory, fakes: Fakes) -> TestClient[Any, Any]:
    """A gateway whose provider is the fake Kavenegar."""
    return await gateway(**fakes.settings("kavenegar"))
