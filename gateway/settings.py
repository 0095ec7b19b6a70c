"""Settings from `GATEWAY_*` environment variables (and an optional `.env`); secrets never print."""

from __future__ import annotations

import json
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gateway.smpp_settings import parse_smpp_links
from providers.config import Account, DispatchConfig, ProviderConfig, RetryConfig
from providers.routes import RouteTable, default_table, parse_routes
from sessions.normalize import digits_only
from sessions.validators import FOREIGN_ID_DIGITS, LOAN_CODE_DIGITS

# console, kavenegar, smsir, or an SMPP link: `smpp` (the first of GATEWAY_SMPP_LINKS) or
# `smpp:<name>`.
_PROVIDER = r"^(console|kavenegar|smsir|smpp(:[a-z0-9_-]{1,32})?)$"
ProviderName = Annotated[str, Field(pattern=_PROVIDER)]
Network = IPv4Network | IPv6Network
MIN_SECRET = 16  # characters; `python -c "import secrets; print(secrets.token_urlsafe())"`
DAY_S = 24 * 3600
ANY = "*"  # the key of a callback secret that holds for every dialect or provider not named


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    db: Path = Path("./dargah.db")
    database_url: str | None = None
    # SQLite's durability: `normal` (WAL; a commit survives a crash of the process, a power cut
    # may lose what was committed since the last checkpoint, about a second) or `full` (every
    # commit is on disk before its answer leaves; bench/RESULTS.md prices it).
    sqlite_synchronous: Literal["normal", "full"] = "normal"
    log_level: str = "INFO"
    log_json: bool = False
    # Processes serving the port together (SO_REUSEPORT), about one per core: gateway/workers.py.
    workers: int = Field(1, ge=1, le=64)
    # uvloop: 1–5% more hops than on asyncio's own loop, in paired runs (bench/RESULTS.md).
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"

    # USSD sessions: operators drop a session after ~180 s; a cut-off one may resume for 5 minutes.
    session_ttl_s: int = Field(180, ge=10)
    resume_window_s: int = Field(300, ge=0)
    cleanup_interval_s: float = Field(60.0, gt=0)
    ussd_code: str = "*4455#"

    # SMS providers.
    sms_provider: ProviderName = "console"
    sms_fallback: ProviderName | None = None
    kavenegar_api_key: SecretStr = SecretStr("")
    kavenegar_sender: str = ""
    kavenegar_base_url: str = "https://api.kavenegar.com"
    smsir_api_key: SecretStr = SecretStr("")
    smsir_sender: str = ""
    smsir_base_url: str = "https://api.sms.ir"
    provider_timeout_s: float = Field(10.0, gt=0)
    # SMPP links (a JSON list, one object per bind; a secret as a whole: it holds passwords).
    smpp_links: SecretStr = SecretStr("")
    # The same MO text from the same number within this window over SMPP is one message.
    smpp_mo_window_s: float = Field(600.0, gt=0)
    # The SMPP link (a name in GATEWAY_SMPP_LINKS) whose bind takes USSD; empty: none.
    ussd_smpp_link: str = ""
    # Routes by recipient prefix (a JSON list, providers/routes.py); empty: the operators'
    # prefixes, each through an SMPP link of the operator's name where there is one.
    sms_routes: str = ""
    provider_rate_per_s: float = Field(50.0, gt=0)
    # The provider's OTP template per verification purpose (`activation=dargah-activation,…` or
    # JSON): those codes go through Kavenegar verify/lookup or sms.ir send/verify (numeric ids);
    # a purpose without one goes as a templated SMS. A Kavenegar template also allows `voice`.
    kavenegar_verify_templates: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    smsir_verify_templates: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    # Verification codes (`/v1/verifications`): life, wrong tries, the resend interval per purpose
    # (`activation=120,…`; a purpose not named takes `verify_resend_s`'s `*`, else 120), codes
    # per number and client a rolling hour and day, and send requests per API key a minute.
    verify_ttl_s: int = Field(600, ge=60, le=24 * 3600)
    verify_max_checks: int = Field(5, ge=1, le=100)
    verify_resend_s: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    verify_per_hour: int = Field(5, ge=1)
    verify_per_day: int = Field(10, ge=1)
    verify_sends_per_key_per_minute: int = Field(120, ge=1)

    # Inbound SMS: a poller of unread messages on this line, as a fallback for lost callbacks.
    inbound_poll_s: float = Field(0.0, ge=0)  # 0: callbacks only
    inbound_line: str = ""

    # The web phone (`/simulator`) shows the console provider's texts in full, passwords and codes
    # included: only to a caller on this machine unless enabled here (a demo or staging host).
    simulator_enabled: bool = False
    # The operator's console (`/ops`): a signed-in session ends after this long unused; sign-in
    # tries per caller address in 15 minutes, right or wrong.
    ops_idle_timeout_s: int = Field(900, ge=60, le=24 * 3600)
    ops_login_attempts: int = Field(5, ge=1, le=1000)

    # Outbox dispatcher.
    dispatcher_enabled: bool = True
    # A message due this long, with a provider free to take it, means no dispatcher is claiming:
    # `/readyz` and `/metrics` (dargah_dispatcher_stuck) report it. A few dispatch intervals and a
    # full batch's sends.
    dispatcher_stuck_after_s: float = Field(120.0, gt=0)
    dispatch_interval_s: float = Field(0.5, gt=0)
    # Messages claimed per pass; more than one provider call's worth go out concurrently. Small
    # claims keep a code that arrives mid-pass from waiting long behind a bulk batch.
    dispatch_batch: int = Field(200, ge=1, le=5000)
    # A message the provider refused for now (5xx, throttled, unreachable) waits on this curve;
    # it fails only for a permanent reason or when its validity ends.
    retry_base_s: float = Field(2.0, gt=0)
    retry_cap_s: float = Field(300.0, gt=0)
    # How long a message without a validity of its own is worth sending (codes and passwords
    # carry theirs).
    message_validity_s: int = Field(7 * 24 * 3600, ge=60)
    # A send whose answer never came is checked with its provider this long after it left.
    unknown_check_s: float = Field(30.0, gt=0)
    # A provider paused for an account error (credit, key, IP, line) is probed after this.
    provider_probe_s: float = Field(30.0, gt=0)
    # On a stop, sends in flight are awaited this long; what is left is given back.
    dispatch_drain_s: float = Field(10.0, ge=0)
    status_poll_after_s: float = Field(600.0, gt=0)
    # A claimed message is due again after this (a crash mid-send); longer than one send with its
    # in-process retries, so a slow provider is never sent the same message twice at once.
    dispatch_lease_s: float = Field(120.0, gt=0)

    # Keys that seal secrets at rest (sessions/sealing.py), comma-separated, the newest first; on
    # SQLite a key file beside the database (`<db>.key`, 0600) when unset.
    seal_key: SecretStr = SecretStr("")

    # Operator callbacks (USSD, SMS status and inbound): a shared secret per dialect or provider,
    # as a path token (`/ussd/{dialect}/{token}`) or in the header below. Written as JSON
    # (`{"africastalking": "…"}`), as `name=secret,…`, or as one bare secret for all; `*` names the
    # secret for every dialect or provider without its own. See gateway/access.py.
    ussd_secrets: Annotated[dict[str, SecretStr], NoDecode] = Field(default_factory=dict)
    sms_callback_secret: Annotated[dict[str, SecretStr], NoDecode] = Field(default_factory=dict)
    callback_token_header: str = Field("X-Gateway-Token", min_length=1)
    # Comma-separated CIDRs; empty: any address (the secret still applies).
    callback_allow: Annotated[list[Network], NoDecode] = Field(default_factory=list)
    # Hosts a notification's `callback_url` may name although they resolve to a private address
    # or are called over plain http (comma-separated names or addresses); every other host must
    # be https and public (gateway/web/outbound.py).
    callback_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Hosts a `link` parameter of a template callers may send can point to (comma-separated);
    # empty: no link is accepted.
    template_link_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Proxies whose X-Forwarded-For is believed; empty: the header is ignored.
    trusted_proxies: Annotated[list[Network], NoDecode] = Field(default_factory=list)
    # Comma-separated mobile prefixes (`0941,09981`) allocated after the `phonenumbers` release
    # installed: API recipients under them are accepted although its metadata does not know them.
    extra_mobile_prefixes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The portal's loan tracking codes: how many digits, `6-20` or one length (`8`).
    loan_code_digits: Annotated[tuple[int, int], NoDecode] = LOAN_CODE_DIGITS
    # A foreign national's identifier (seed 003): its digits; never 10, a national ID's length.
    foreign_id_digits: int = Field(FOREIGN_ID_DIGITS, ge=6, le=20)

    @field_validator("sms_fallback", "database_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("ussd_secrets", "sms_callback_secret", mode="before")
    @classmethod
    def _secrets(cls, value: object) -> object:
        return parse_secrets(value) if isinstance(value, str) else value

    @field_validator("ussd_secrets", "sms_callback_secret", mode="after")
    @classmethod
    def _strong(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, secret in value.items():
            if len(secret.get_secret_value()) < MIN_SECRET:
                raise ValueError(f"the callback secret for {name!r} is shorter than {MIN_SECRET}")
        return value

    @field_validator("kavenegar_verify_templates", "smsir_verify_templates", mode="before")
    @classmethod
    def _templates(cls, value: object) -> object:
        return parse_pairs(value) if isinstance(value, str) else value

    @field_validator("verify_resend_s", mode="before")
    @classmethod
    def _resend(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs = parse_pairs(value)
        try:
            return {name: int(seconds) for name, seconds in pairs.items()}
        except ValueError:
            raise ValueError("every resend interval must be a whole number of seconds") from None

    @field_validator("kavenegar_verify_templates", "smsir_verify_templates", "verify_resend_s")
    @classmethod
    def _known_purposes(cls, value: dict[str, object], info: ValidationInfo) -> dict[str, object]:
        from sessions.services.verify import PURPOSES

        # Only the resend interval has a default for every purpose (`*`): a provider's template
        # is its text for one purpose.
        allowed = set(PURPOSES) | ({ANY} if info.field_name == "verify_resend_s" else set())
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ValueError(f"unknown verification purpose(s) {unknown}")
        # An sms.ir template is a number: anything else would send its codes as plain text.
        if info.field_name == "smsir_verify_templates" and not all(
            str(v).isdecimal() for v in value.values()
        ):
            raise ValueError("sms.ir verify templates are numeric template ids")
        if info.field_name == "verify_resend_s" and not all(
            0 <= int(str(v)) <= DAY_S for v in value.values()
        ):
            raise ValueError("every resend interval is between 0 and 86400 seconds")
        return value

    @field_validator("callback_allow", "trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return [ip_network(item.strip(), strict=False) for item in value.split(",") if item.strip()]

    @field_validator("callback_hosts", "template_link_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return [h.strip().strip("[]").rstrip(".").lower() for h in value.split(",") if h.strip()]

    @field_validator("extra_mobile_prefixes", mode="before")
    @classmethod
    def _prefixes(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        prefixes = [digits_only(item) for item in value.split(",") if item.strip()]
        for prefix in prefixes:
            if not (prefix.startswith("09") and 3 <= len(prefix) <= 11):
                raise ValueError(f"{prefix!r} is not a mobile prefix such as 0941")
        return prefixes

    @field_validator("foreign_id_digits")
    @classmethod
    def _not_a_national_id(cls, value: int) -> int:
        if value == 10:
            raise ValueError("10 digits is a national ID's length; a foreign ID needs another")
        return value

    @field_validator("loan_code_digits", mode="before")
    @classmethod
    def _digit_range(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        low, dash, high = value.partition("-")
        low, high = digits_only(low), digits_only(high if dash else low)
        if not (low.isdigit() and high.isdigit() and 4 <= int(low) <= int(high) <= 32):
            raise ValueError(f"{value!r} is not a digit count such as 6-20 or 8 (4 to 32)")
        return (int(low), int(high))

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.db}"

    def provider_config(self) -> ProviderConfig:
        links = parse_smpp_links(self.smpp_links.get_secret_value(), self.smpp_mo_window_s)

        def named(provider: str | None) -> str | None:
            # `smpp` is the first link: one name for one bind wherever it is written.
            return f"smpp:{links[0].name}" if provider == "smpp" and links else provider

        return ProviderConfig(
            primary=named(self.sms_provider) or "console",
            fallback=named(self.sms_fallback),
            accounts={
                "kavenegar": Account(
                    self.kavenegar_api_key.get_secret_value(),
                    self.kavenegar_sender,
                    self.kavenegar_base_url,
                    dict(self.kavenegar_verify_templates),
                ),
                "smsir": Account(
                    self.smsir_api_key.get_secret_value(),
                    self.smsir_sender,
                    self.smsir_base_url,
                    dict(self.smsir_verify_templates),
                ),
            },
            timeout_s=self.provider_timeout_s,
            rate_per_s=self.provider_rate_per_s,
            smpp_links=parse_smpp_links(self.smpp_links.get_secret_value(), self.smpp_mo_window_s),
        )

    def route_table(self, config: ProviderConfig) -> RouteTable | None:
        """The routing table, or None where every message takes the primary, then the fallback
        (no routes set, and no SMPP link named after an operator)."""
        first = f"smpp:{config.smpp_links[0].name}" if config.smpp_links else "smpp"
        explicit = parse_routes(self.sms_routes, config.primary, config.fallback, first)
        if explicit is not None:
            return explicit
        table = default_table(
            config.primary, config.fallback, [link.name for link in config.smpp_links]
        )
        if all(route.providers == table.default.providers for route in table.routes):
            return None
        return table

    def dispatch_config(self) -> DispatchConfig:
        return DispatchConfig(
            batch=self.dispatch_batch,
            interval_s=self.dispatch_interval_s,
            lease_s=self.dispatch_lease_s,
            status_poll_after_s=self.status_poll_after_s,
            retry=RetryConfig(base_s=self.retry_base_s, cap_s=self.retry_cap_s),
            check_after_s=self.unknown_check_s,
            probe_s=self.provider_probe_s,
            drain_s=self.dispatch_drain_s,
        )


def parse_pairs(value: str) -> dict[str, str]:
    """`{"name": "value"}` or `name=value,name2=value2` (values that are not secrets)."""
    value = value.strip()
    if not value:
        return {}
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            raise ValueError("not a JSON object") from None
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return {str(k): str(v) for k, v in data.items()}
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, found = item.partition("=")
        if not sep or not name.strip() or not found.strip():
            raise ValueError("every item must read name=value")
        pairs[name.strip()] = found.strip()
    return pairs


def parse_secrets(value: str) -> dict[str, SecretStr]:
    """`{"name": "secret"}`, `name=secret,name2=secret2`, or a bare secret (for every name).
    Errors never quote the value: it is a secret."""
    value = value.strip()
    if not value:
        return {}
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            raise ValueError("not a JSON object of names to secrets") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError("not a JSON object of names to secrets")
        pairs = list(data.items())
    elif "=" not in value:
        pairs = [(ANY, value)]
    else:
        pairs = []
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, sep, secret = item.partition("=")
            if not sep:
                raise ValueError("every item must read name=secret")
            pairs.append((name.strip(), secret.strip()))
    for name, secret in pairs:
        if not name or not secret:
            raise ValueError("a callback secret needs a name and a non-empty value")
    return {name: SecretStr(secret) for name, secret in pairs}
