"""One OpenAPI 3.1 document for the whole API, merged from every context's resolver.

Each operation documents exactly the error statuses it can answer, in Keel's error shape, derived
from what the route is rather than listed by hand, so that every context's routes are covered:

- every route: 429 (API Gateway's throttling);
- every route with credentials: 401 (missing, bad or expired); with a tenant role or operator access: 403;
- a JSON body: 400 (not JSON, not UTF-8, nested too deep), 413, 415 (another charset), 422;
- query parameters, or typed path parameters: 422; a path parameter: 404 (unknown, or another
  tenant's, id); a ``cursor`` (the pagination convention): 400 (a cursor this API did not hand out);
- a write with credentials: 409 (every write is conditional);
- whatever else the route declares (``errors=`` on the route: ``keel.http.ERRORS_EXTENSION``).

A 204 documents no body. Powertools' own 422 is rewritten to the shape Keel actually returns.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from keel.http import ACCESS_EXTENSION, ERRORS_EXTENSION, ErrorResponse, KeelResolver
from keel.tenancy import Access

TITLE = "Keel API"
#: The query parameter every paginated list reads its opaque cursor from.
CURSOR_PARAMETER = "cursor"
_ERROR_REF = "#/components/schemas/ErrorResponse"
_WRITES = frozenset({"post", "put", "patch", "delete"})
_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, invalid or expired credentials",
    402: "A payment was refused (a card declined)",
    403: "Not allowed for this caller",
    404: "Not found (also: another tenant's id)",
    409: "Conflict with the current state",
    412: "If-Match no longer matches the resource's ETag: reload and retry",
    413: "Body too large",
    415: "Body in a charset other than UTF-8",
    422: "Validation error",
    429: "Too many requests",
    503: "A service the route depends on is unavailable: retry later",
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
                target[method] = _with_errors(method, operation)
        merged["components"]["schemas"].update(schema.get("components", {}).get("schemas", {}))
    schemas = merged["components"]["schemas"]
    schemas.update(_error_schemas())
    schemas.pop("HTTPValidationError", None)
    merged["paths"] = dict(sorted(merged["paths"].items()))
    merged["components"]["schemas"] = dict(sorted(schemas.items()))
    return merged


def _with_errors(method: str, operation: dict[str, Any]) -> dict[str, Any]:
    operation = copy.deepcopy(operation)
    access = Access(operation.get(ACCESS_EXTENSION, Access.MEMBER.value))
    declared = operation.pop(ERRORS_EXTENSION, ())
    responses = {
        status: response
        for status, response in operation.setdefault("responses", {}).items()
        if not (status.startswith("4") or status.startswith("5"))
    }
    for status in sorted({*error_statuses(method, operation, access), *declared}):
        responses[str(status)] = _error_response(status)
    for status, response in responses.items():
        if status == "204":
            response.pop("content", None)  # "No Content": nothing to document a schema for
    operation["responses"] = dict(sorted(responses.items()))
    if access is not Access.PUBLIC:
        operation["security"] = [{"bearer": []}]
    return operation


def error_statuses(method: str, operation: dict[str, Any], access: Access) -> set[int]:
    """The error statuses an operation can answer, from what it is (see the module docstring)."""
    statuses = {429}
    parameters = operation.get("parameters", [])
    if access is not Access.PUBLIC:
        statuses.add(401)
        if method.lower() in _WRITES:
            statuses.add(409)
    if access.role is not None or access is Access.OPERATOR:
        statuses.add(403)
    if "requestBody" in operation:
        statuses |= {400, 413, 415, 422}
    if any(_validated(parameter) for parameter in parameters):
        statuses.add(422)
    if any(parameter.get("in") == "path" for parameter in parameters):
        statuses.add(404)
    if any(parameter.get("in") == "query" and parameter.get("name") == CURSOR_PARAMETER for parameter in parameters):
        statuses.add(400)
    return statuses


def _validated(parameter: dict[str, Any]) -> bool:
    # Any path segment is a string: only a typed or constrained path parameter can be refused.
    schema = parameter.get("schema", {})
    constrained = set(schema) - {"type", "title", "description"}
    return parameter.get("in") != "path" or schema.get("type") != "string" or bool(constrained)


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
