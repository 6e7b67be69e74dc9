"""Builds the platform's services from settings, once per container (nothing is read at import).

Each builder is cached per settings object, so when the kernel forgets its settings
(``keel.reset_caches()``: tests, the local runtime) the services are rebuilt from the new ones.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from keel import settings

if TYPE_CHECKING:
    from functions.platform.adapters.docs import ApiDocs
    from functions.platform.settings import PlatformApiSettings
    from keel.platform_settings import PlatformSettings

# ruff: noqa: PLC0415 - the imports inside the builders below are the point of this module

VERSION = "0.1.0"


def docs() -> ApiDocs:
    from functions.platform.settings import PlatformApiSettings

    return _docs(settings.load(PlatformApiSettings), settings.platform())


@cache
def _docs(api: PlatformApiSettings, platform: PlatformSettings) -> ApiDocs:
    from functions.platform.adapters.docs import ApiDocs

    return ApiDocs(openapi_file=api.openapi_file, stage=platform.stage, version=VERSION)
