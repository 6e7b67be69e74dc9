"""One OpenAPI 3.1 document for the whole API, merged from every context's resolver.

Each operation also documents the error shape it can answer with; the 422 that Powertools declares
is rewritten to the shape Keel actually returns, so clients generated from the document are right.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from keel.http import ACCESS_EXTENSION, ErrorResponse, KeelResolver
from keel.tenancy import Access

TITLE = "Keel API"
_ERROR_REF = "#/components/schemas/ErrorResponse"
_ERRORS_BY_ACCESS = {
    Access.PUBLIC: (400, 404, 413, 429),
    Access.AUTHENTICATED: (400, 401, 403, 404, 409, 413, 429),
}
_DEFAULT_ERRORS = (400, 401, 403, 404, 409, 413, 429)
_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or invalid credentials",
    403: "Not allowed for this caller",
    404: "Not found (also: another tenant's id)",
    409: "Conflict with the current state",
    413: "Body too large",
    422: "Validation error",
    429: "Too many requests",
}


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": _ERROR_REF}}},
    }


def document(apps: Iterable[KeelResolver], *, version: str, title: str = TITLE) -> dict[str, Any]:
    """The merged document of ``apps``; raises if two contexts define the same operation."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": [{"url": "/"}],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": _security_schemes()},
    }
    for app in apps:
        schema = app.get_openapi_schema(title=title, version=version).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        for path, operations in schema.get("paths", {}).items():
            target = merged["paths"].setdefault(path, {})
            for method, operation in operations.items():
                if method in target:
                    raise ValueError(f"{method.upper()} {path} is defined by two contexts")
                target[method] = _with_errors(operation)
        merged["components"]["schemas"].update(schema.get("components", {}).get("schemas", {}))
    schemas = merged["components"]["schemas"]
    schemas.update(_error_schemas())
    schemas.pop("HTTPValidationError", None)
    merged["paths"] = dict(sorted(merged["paths"].items()))
    merged["components"]["schemas"] = dict(sorted(schemas.items()))
    return merged


def _with_errors(operation: dict[str, Any]) -> dict[str, Any]:
    operation = copy.deepcopy(operation)
    access = Access(operation.get(ACCESS_EXTENSION, Access.MEMBER.value))
    responses = operation.setdefault("responses", {})
    for status in _ERRORS_BY_ACCESS.get(access, _DEFAULT_ERRORS):
        responses.setdefault(str(status), _error_response(status))
    if "422" in responses:
        responses["422"] = _error_response(422)
    if access is not Access.PUBLIC:
        operation["security"] = [{"bearer": []}]
    return operation


def _error_schemas() -> dict[str, Any]:
    schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {"ErrorResponse": schema, **definitions}


def _security_schemes() -> dict[str, Any]:
    return {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An OIDC access token (send X-Tenant-Id to act in a tenant) or a `keel_` API key.",
        }
    }
