"""The platform: health, the merged OpenAPI document and its Swagger UI. No table, public routes only."""

from __future__ import annotations

from infra.model import OPENAPI_DOCUMENT, AssetFile, Context, Route

CONTEXT = Context(
    name="platform",
    api_handler="functions.platform.handlers.api",
    api_prefixes=("/health", "/openapi.json", "/docs"),
    public_routes=(
        Route("GET", "/health"),
        Route("GET", "/openapi.json"),
        Route("GET", "/docs"),
        Route("GET", "/docs/swagger-ui-bundle.min.js"),
        Route("GET", "/docs/swagger-ui.min.css"),
    ),
    table=False,
    asset_files=(AssetFile("openapi.json", OPENAPI_DOCUMENT, setting="OPENAPI_FILE", made_by="make openapi"),),
)
