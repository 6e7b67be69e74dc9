"""Public platform routes: health, the merged OpenAPI document and Swagger UI (assets served by us)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.platform import wiring
from functions.platform.domain.health import Health
from keel.http import KeelResolver
from keel.observability import instrumented
from keel.tenancy import Access

app = KeelResolver(service="platform")


@app.get("/health", access=Access.PUBLIC, summary="Liveness of the API", tags=["platform"])
def health() -> Health:
    return wiring.docs().health()


@app.get("/openapi.json", access=Access.PUBLIC, include_in_schema=False)
def openapi_document() -> Response[str]:
    body = wiring.docs().openapi_json(stage=app.current_event.request_context.stage)
    return Response(status_code=200, content_type="application/json", body=body)


@app.get("/docs", access=Access.PUBLIC, include_in_schema=False)
def swagger_ui() -> Response[str]:
    body = wiring.docs().swagger_html(stage=app.current_event.request_context.stage)
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=body)


@app.get("/docs/<asset>", access=Access.PUBLIC, include_in_schema=False)
def swagger_asset(asset: str) -> Response[str]:
    content_type, body = wiring.docs().asset(asset)
    return Response(
        status_code=200,
        content_type=content_type,
        body=body,
        headers={"Cache-Control": "public, max-age=86400"},
    )


@instrumented(app.service, "api")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
