"""Builds the platform's services from settings, once per container (nothing at import)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.platform.adapters.docs import ApiDocs
from keel import settings

VERSION = "0.1.0"


class PlatformApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEEL_PLATFORM_", extra="ignore", frozen=True)

    #: Where the merged OpenAPI document is: /var/task/openapi.json in Lambda, docs/openapi.json locally.
    openapi_file: Path = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


@cache
def docs() -> ApiDocs:
    return ApiDocs(
        openapi_file=settings.load(PlatformApiSettings).openapi_file,
        stage=settings.platform().stage,
        version=VERSION,
    )
