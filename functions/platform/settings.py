"""The platform function's settings (``KEEL_PLATFORM_*``), imported by ``wiring`` on first use."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEEL_PLATFORM_", extra="ignore", frozen=True)

    #: Where the merged OpenAPI document is (the topology's asset file): at the root of the code asset
    #: in Lambda, in the repository locally.
    openapi_file: Path
