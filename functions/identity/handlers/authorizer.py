"""The API Gateway REQUEST authorizer: ``Authorization`` (+ ``X-Tenant-Id``) in, an IAM policy out.

An Allow covers every method and path of the stage (``.../<stage>/*/*``) because API Gateway caches
the answer per identity source (``Authorization`` + ``X-Tenant-Id``) and reuses it for other
routes; what a route needs beyond that is checked by the route against the context's role. An
Allow in a tenant names the tenant's API Gateway key (``usageIdentifierKey``): the tenant's requests
count against its own usage plan, never another tenant's. A
Deny (403) is cached the same way; its context carries the error code and message of the 403
(``DENIED_CODE``, ``DENIED_MESSAGE``), which API Gateway's ACCESS_DENIED response renders.
``raise Exception("Unauthorized")`` is API Gateway's contract for a 401. The credential itself is
never logged.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.identity import wiring
from functions.identity.domain.access import Allow, Decision
from functions.identity.domain.errors import InvalidCredentials
from keel import observability
from keel.tenancy import DENIED_CODE, DENIED_MESSAGE, OPERATOR_FLAG, is_admin_path

SERVICE = "identity-authorizer"
TENANT_HEADER = "x-tenant-id"


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name and isinstance(value, str):
            return value
    return None


def stage_wildcard(method_arn: str) -> str:
    """``arn:aws:execute-api:<region>:<account>:<api>/<stage>/*/*`` from the request's method ARN."""
    api_and_stage = method_arn.split("/", 2)[:2]
    if len(api_and_stage) < 2:
        raise ValueError("unexpected methodArn")
    return "/".join([*api_and_stage, "*", "*"])


def policy(decision: Decision, method_arn: str) -> dict[str, Any]:
    allowed = isinstance(decision, Allow)
    response: dict[str, Any] = {
        "principalId": decision.principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow" if allowed else "Deny",
                    "Resource": stage_wildcard(method_arn),
                }
            ],
        },
    }
    if isinstance(decision, Allow):
        response["context"] = dict(decision.context)
        if decision.usage_key is not None:  # the tenant's own usage plan counts this request
            response["usageIdentifierKey"] = decision.usage_key
    else:
        response["context"] = {DENIED_CODE: decision.code, DENIED_MESSAGE: decision.message}
    return response


def route_of(method_arn: str) -> str:
    """``METHOD /path`` from ``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>``."""
    parts = method_arn.split("/", 3)
    if len(parts) < 3:
        return ""
    return f"{parts[2]} /{parts[3] if len(parts) > 3 else ''}"


def is_token_only(route: str, tenantless: frozenset[str]) -> bool:
    """Whether ``route`` (``METHOD /path``) is served by the authorizer cached on the token alone: a
    tenant-less route, or any route under the operators' prefix."""
    return route in tenantless or is_admin_path(route.partition(" ")[2])


@observability.instrumented(SERVICE, "authorizer")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request_id = (event.get("requestContext") or {}).get("requestId")
    observability.bind(SERVICE, correlation_id=observability.correlation_id_of(event), request_id=request_id)
    logger = observability.for_service(SERVICE).logger
    method_arn = str(event.get("methodArn", ""))
    # On a token-only route the answer is cached under the token alone: a tenant must not shape it.
    tenantless = is_token_only(route_of(method_arn), wiring.config().tenantless)
    try:
        decision = wiring.access().decide(
            authorization=_header(event, "authorization"),
            tenant_id=None if tenantless else _header(event, TENANT_HEADER),
        )
    except InvalidCredentials as exc:
        logger.info("unauthorized", extra={"reason": exc.reason})
        raise Exception("Unauthorized") from None  # API Gateway's 401 contract: exactly this message
    if isinstance(decision, Allow):
        tenant_id = decision.context.get("tenant_id")
        operator = decision.context.get(OPERATOR_FLAG) == "true"
        logger.info("allowed", extra={"principal": decision.principal_id, "tenant_id": tenant_id, "operator": operator})
    else:
        logger.info("denied", extra={"principal": decision.principal_id, "reason": decision.reason})
    return policy(decision, method_arn)
