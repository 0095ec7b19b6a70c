"""What the providers and the dispatcher are configured with: small frozen objects the gateway
builds from its settings (`Settings.provider_config`, `Settings.dispatch_config`), so nothing under
`providers/` reads the gateway's settings or environment."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Account:
    """One provider account: its key (a secret: never in a repr), sender line and base URL."""

    api_key: str = field(repr=False)
    sender: str
    base_url: str


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    primary: str = "console"
    fallback: str | None = None
    accounts: dict[str, Account] = field(default_factory=dict)  # by provider name
    timeout_s: float = 10.0
    rate_per_s: float = 50.0


@dataclass(frozen=True, slots=True)
class RetryConfig:
    max_attempts: int = 8
    base_s: float = 2.0
    cap_s: float = 300.0


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    batch: int = 200
    interval_s: float = 0.5
    lease_s: float = 120.0
    status_poll_after_s: float = 600.0
    retry: RetryConfig = field(default_factory=RetryConfig)
