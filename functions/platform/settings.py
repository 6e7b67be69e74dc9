"""The platform function's settings (``KEEL_PLATFORM_*``), imported by ``wiring`` on first use."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEEL_PLATFORM_", extra="ignore", frozen=True)

    #: Where the merged OpenAPI document is: /var/task/openapi.json in Lambda, docs/openapi.json locally.
    openapi_file: Path = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
