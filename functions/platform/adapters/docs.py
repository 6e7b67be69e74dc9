"""Reads the committed OpenAPI document and the Swagger UI assets Powertools ships."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

from aws_lambda_powertools.event_handler.openapi import swagger_ui
from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

from functions.platform.domain.health import Health
from keel.errors import NotFound

_ASSETS = {
    "swagger-ui-bundle.min.js": "application/javascript; charset=utf-8",
    "swagger-ui.min.css": "text/css; charset=utf-8",
}


def base_path(stage: str | None) -> str:
    """The public path prefix: API Gateway stages add ``/<stage>``; the local gateway has none."""
    return "" if not stage or stage == "$default" else f"/{stage}"


class ApiDocs:
    def __init__(self, *, openapi_file: Path, stage: str, version: str) -> None:
        self._openapi_file = openapi_file
        self._stage = stage
        self._version = version

    def health(self) -> Health:
        return Health(status="ok", stage=self._stage, version=self._version)

    @cached_property
    def _document(self) -> dict[str, object]:
        try:
            loaded = json.loads(self._openapi_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound("the OpenAPI document is not built; run `make openapi`") from None
        return dict(loaded)

    def openapi_json(self, *, stage: str | None) -> str:
        document = {**self._document, "servers": [{"url": base_path(stage) or "/"}]}
        return json.dumps(document, separators=(",", ":"))

    def swagger_html(self, *, stage: str | None) -> str:
        assets = f"{base_path(stage)}/docs"
        spec = self.openapi_json(stage=stage).replace("</", "<\\/")
        return generate_swagger_html(
            spec,
            f"{assets}/swagger-ui-bundle.min.js",
            f"{assets}/swagger-ui.min.css",
            assets,
            None,
            False,
        )

    def asset(self, name: str) -> tuple[str, str]:
        content_type = _ASSETS.get(name)
        if content_type is None:
            raise NotFound("no such asset")
        return content_type, (Path(swagger_ui.__file__).parent / name).read_text(encoding="utf-8")
