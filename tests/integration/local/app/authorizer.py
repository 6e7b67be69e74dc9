"""A REQUEST authorizer for tests, answering with Powertools' policy builder as identity's will:
``Bearer <role>:<tenant>`` is allowed, ``Bearer deny`` gets an explicit Deny (``Bearer deny:<code>``
one whose context names that error code, as identity's do), ``Bearer keyless:<tenant>`` is allowed
but names no usage key, anything else is "Unauthorized". It records its calls (to observe the cache)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
)

from keel.tenancy import DENIED_CODE, DENIED_MESSAGE

CALLS: list[dict[str, Any]] = []


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    CALLS.append(event)
    token = str(event["headers"].get("Authorization", "")).removeprefix("Bearer ").strip()
    if token == "deny" or token.startswith("deny:"):
        code = token.partition(":")[2]
        context = {DENIED_CODE: code, DENIED_MESSAGE: f"denied: {code}"} if code else None
        policy = APIGatewayAuthorizerResponse.from_route_arn(
            event["methodArn"], principal_id="usr_denied", context=context
        )
        policy.deny_all_routes()
        return policy.asdict()
    role, _, tenant = token.partition(":")
    keyless = role == "keyless"
    role = "member" if keyless else role
    if role not in ("member", "admin", "owner") or not tenant:
        raise Exception("Unauthorized")  # the exact exception API Gateway's contract names
    policy = APIGatewayAuthorizerResponse.from_route_arn(
        event["methodArn"],
        principal_id=f"usr_{role}",
        context={"tenant_id": tenant, "user_id": f"usr_{role}", "role": role, "plan": "free", "seats": 3},
        # Its own usage plan budget, as identity's names (none for ``keyless``).
        usage_identifier_key=None if keyless else f"usage-key-of-{tenant}",
    )
    policy.allow_all_routes()
    return policy.asdict()
