"""AWS-shaped events for tests, built from AWS's published samples in ``events/samples/aws/``."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "samples" / "aws"


@cache
def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((SAMPLES / f"{name}.json").read_text()))


def authorizer_context(
    *,
    tenant_id: str | None = "ten_01JD0000000000000000000000",
    user_id: str = "usr_01JD0000000000000000000000",
    role: str = "owner",
    plan: str = "free",
    features: str | None = None,
) -> dict[str, Any]:
    """What the authorizer answers; ``features`` (comma-separated) only once identity knows them."""
    ctx: dict[str, Any] = {"principalId": user_id, "user_id": user_id, "integrationLatency": 3}
    if tenant_id:
        ctx.update(tenant_id=tenant_id, role=role, plan=plan)
        if features is not None:
            ctx["features"] = features
    return ctx


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    authorizer: dict[str, Any] | None = None,
    request_id: str = "req-1",
) -> dict[str, Any]:
    """A REST API proxy event (the sample's shape) for ``method path``."""
    event = copy.deepcopy(sample("apiGatewayProxyEvent"))
    all_headers = {"Content-Type": "application/json"} if body is not None else {}
    all_headers.update(headers or {})
    event.update(
        httpMethod=method,
        path=path,
        resource=path,
        headers=all_headers,
        multiValueHeaders={k: [v] for k, v in all_headers.items()},
        queryStringParameters=query or None,
        multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
        pathParameters=None,
        body=body if isinstance(body, str) or body is None else json.dumps(body),
    )
    ctx = event["requestContext"]
    ctx.update(httpMethod=method, path=path, resourcePath=path, requestId=request_id, stage="$default")
    ctx["authorizer"] = authorizer if authorizer is not None else {}
    return event


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None
