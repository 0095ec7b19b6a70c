"""What the providers and the dispatcher are configured with: small frozen objects the gateway
builds from its settings (`Settings.provider_config`, `Settings.dispatch_config`), so nothing under
`providers/` reads the gateway's settings or environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.console import Inbox


@dataclass(frozen=True, slots=True)
class Account:
    """One provider account: its key (a secret: never in a repr), sender line and base URL."""

    api_key: str = field(repr=False)
    sender: str
    base_url: str
    # The provider's OTP template per verification purpose (Kavenegar verify/lookup template
    # names, sms.ir send/verify template ids): such codes go through the provider's OTP route.
    verify_templates: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SmppLinkConfig:
    """One SMPP bind to an SMSC (provider `smpp:<name>`). The password never appears in a repr."""

    name: str
    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    system_type: str = ""
    source_addr: str = ""  # our line (short code or number) the messages come from
    source_ton: int = 0
    source_npi: int = 1
    dest_ton: int = 1  # recipients go in international form, 98…
    dest_npi: int = 1
    window: int = 10  # submit_sm outstanding at once on this bind
    rate_per_s: float = 50.0  # submit_sm a second (each part counts)
    max_parts: int = 6
    response_timeout_s: float = 10.0  # past it a submit_sm is unknown, never resent
    bind_timeout_s: float = 10.0
    rebind_base_s: float = 1.0
    rebind_cap_s: float = 60.0
    registered_delivery: int = 1  # ask for a final delivery receipt
    mo_window_s: float = 600.0  # the same MO text from the same number within it is one message


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    primary: str = "console"
    fallback: str | None = None
    accounts: dict[str, Account] = field(default_factory=dict)  # by provider name
    smpp_links: tuple[SmppLinkConfig, ...] = ()
    timeout_s: float = 10.0
    rate_per_s: float = 50.0
    # Where the console provider keeps the texts it took (the web phone's inbox), if anywhere.
    console_inbox: Inbox | None = None


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """Backoff with full jitter for calls a provider provably refused (retryable errors)."""

    in_process: int = 3  # tries within one pass; later ones are the outbox's
    base_s: float = 2.0
    cap_s: float = 300.0


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    batch: int = 200
    interval_s: float = 0.5
    lease_s: float = 120.0
    status_poll_after_s: float = 600.0
    retry: RetryConfig = field(default_factory=RetryConfig)
    # A send whose answer never came is first checked this long after it left (and then on the
    # backoff curve), so the provider's own records have caught up.
    check_after_s: float = 30.0
    # A paused provider is probed this long after the pause, then on the backoff curve.
    probe_s: float = 30.0
    probe_cap_s: float = 600.0
    # On stop, in-flight sends are awaited this long before what is left is released.
    drain_s: float = 10.0
    # A text waiting for its twin (the same text to the same number on a provider without local
    # ids) is tried again after this.
    twin_wait_s: float = 10.0
