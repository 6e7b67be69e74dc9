"""Typed settings (pydantic-settings), read from the environment on first use and cached per container.

Settings classes live in modules of their own that are imported on first use, so that neither
pydantic-settings nor the environment is touched when a handler module is imported.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

    from keel.platform_settings import PlatformSettings

SettingsT = TypeVar("SettingsT", bound="BaseSettings")


@cache
def _load(settings_type: type[Any]) -> Any:
    return settings_type()


def load(settings_type: type[SettingsT]) -> SettingsT:
    """The settings of ``settings_type``, read from the environment once per container."""
    loaded = _load(settings_type)
    if not isinstance(loaded, settings_type):  # pragma: no cover - the cache is keyed by type
        raise TypeError(settings_type)
    return loaded


def platform() -> PlatformSettings:
    from keel.platform_settings import PlatformSettings  # noqa: PLC0415 - first use only

    return load(PlatformSettings)


def reset() -> None:
    """Forget cached settings (tests and the local runtime change the environment between runs)."""
    _load.cache_clear()
