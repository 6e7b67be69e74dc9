"""A REQUEST authorizer for tests, answering with Powertools' policy builder as identity's will:
``Bearer <role>:<tenant>`` is allowed, ``Bearer deny`` gets an explicit Deny (``Bearer deny:<code>``
one whose context names that error code, as identity's do), ``Bearer keyless:<tenant>`` is allowed
but names no usage key, anything else is "Unauthorized". It records its calls (to observe the cache).
Allowed tenants count against the stage's shared usage key, which ``keel dev`` makes as the cloud does."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
)

from infra.model import LOCAL_STAGE
from keel.tenancy import DENIED_CODE, DENIED_MESSAGE
from tests.integration.local.app.topology import TOPOLOGY

SHARED_USAGE_KEY = TOPOLOGY.for_stage(LOCAL_STAGE).shared_usage_key

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
        # A key in a usage plan, as identity's names (none for ``keyless``).
        usage_identifier_key=None if keyless else SHARED_USAGE_KEY,
    )
    policy.allow_all_routes()
    return policy.asdict()
