"""The service's settings, from the environment (``MEDLER_*``) with pydantic-settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from medler.errors import UsageError


class Settings(BaseSettings):
    """``MEDLER_DATA_DIR``, ``MEDLER_CONTROL_URL``, ``MEDLER_MODE`` and the limits below."""

    model_config = SettingsConfigDict(env_prefix="MEDLER_", extra="ignore", frozen=True)

    data_dir: Path = Path("medler-data")
    control_url: str | None = Field(
        default=None, description="The control plane (default: the data directory's control.db)."
    )
    mode: Literal["production", "development", "dummy"] = Field(
        default="production",
        description="dummy: the API over a synthetic snapshot, labelled in every response.",
    )
    max_request_bytes: int = Field(default=64 * 1024, gt=0, description="Largest request body.")
    rate_limit_per_minute: int = Field(default=120, gt=0, description="Requests per token.")
    secure_cookies: bool = Field(
        default=True, description="Mark the DPO pages' cookie Secure (HTTPS only)."
    )
    session_idle_minutes: int = Field(
        default=15, gt=0, description="A DPO web session ends after this long without a request."
    )
    session_hours: int = Field(
        default=8, gt=0, description="A DPO web session ends this long after its login."
    )
    login_failures: int = Field(
        default=10,
        gt=0,
        description="Failed logins allowed per client address and per token id in the window.",
    )
    login_window_seconds: int = Field(
        default=300, gt=0, description="The sliding window of the failed-login limit."
    )
    behind_tls_proxy: bool = Field(
        default=False,
        description="A TLS-terminating proxy is in front: send Strict-Transport-Security even "
        "when the request reached the service over plain HTTP.",
    )

    @model_validator(mode="after")
    def _safe(self) -> Settings:
        if self.mode == "production" and not self.secure_cookies:
            raise UsageError(
                "MEDLER_SECURE_COOKIES=false is for development and dummy mode only: in "
                "production the DPO's session cookie is sent over HTTPS only"
            )
        return self
