"""Builds the platform's services from settings, once per container (nothing at import)."""

from __future__ import annotations

from functools import cache

from functions.platform.adapters.docs import ApiDocs
from keel import settings

VERSION = "0.1.0"


@cache
def docs() -> ApiDocs:
    from functions.platform.settings import PlatformApiSettings  # noqa: PLC0415 - first use only

    return ApiDocs(
        openapi_file=settings.load(PlatformApiSettings).openapi_file,
        stage=settings.platform().stage,
        version=VERSION,
    )
