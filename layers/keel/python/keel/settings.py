"""Typed settings, read from the environment on first use and cached per container."""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class PlatformSettings(BaseSettings):
    """Settings every function shares. Context settings subclass ``BaseSettings`` with their own
    ``KEEL_<CONTEXT>_`` prefix so that all contexts can share one process locally."""

    model_config = SettingsConfigDict(env_prefix="KEEL_", extra="ignore", frozen=True)

    stage: str = "dev"
    bus_name: str = "keel"
    idempotency_table: str = "keel-idempotency"
    region: str = Field(default="us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))


@cache
def _load(settings_type: type[BaseSettings]) -> BaseSettings:
    return settings_type()


def load(settings_type: type[SettingsT]) -> SettingsT:
    """The settings of ``settings_type``, read from the environment once per container."""
    loaded = _load(settings_type)
    if not isinstance(loaded, settings_type):  # pragma: no cover - cache keyed by type
        raise TypeError(settings_type)
    return loaded


def platform() -> PlatformSettings:
    return load(PlatformSettings)


def reset() -> None:
    """Forget cached settings (tests and the local runtime change the environment between runs)."""
    _load.cache_clear()
