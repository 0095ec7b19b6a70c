"""Settings from `GATEWAY_*` environment variables (and an optional `.env`); secrets never print."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ProviderName = Literal["console", "kavenegar", "smsir"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    db: Path = Path("./dargah.db")
    database_url: str | None = None
    log_level: str = "INFO"
    log_json: bool = False

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
    kavenegar_verify_template: str = ""
    smsir_api_key: SecretStr = SecretStr("")
    smsir_sender: str = ""
    smsir_base_url: str = "https://api.sms.ir"
    provider_timeout_s: float = Field(10.0, gt=0)
    provider_rate_per_s: float = Field(50.0, gt=0)

    # Inbound SMS: a poller of unread messages on this line, as a fallback for lost callbacks.
    inbound_poll_s: float = Field(0.0, ge=0)  # 0: callbacks only
    inbound_line: str = ""

    # Outbox dispatcher.
    dispatcher_enabled: bool = True
    dispatch_interval_s: float = Field(0.5, gt=0)
    dispatch_batch: int = Field(200, ge=1, le=200)
    max_attempts: int = Field(8, ge=1)
    retry_base_s: float = Field(2.0, gt=0)
    retry_cap_s: float = Field(300.0, gt=0)
    status_poll_after_s: float = Field(600.0, gt=0)
    # A claimed message is due again after this (a crash mid-send); longer than one send with its
    # in-process retries, so a slow provider is never sent the same message twice at once.
    dispatch_lease_s: float = Field(120.0, gt=0)

    @field_validator("sms_fallback", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.db}"
