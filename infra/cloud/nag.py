"""cdk-nag (AwsSolutions) on the whole app, and every acknowledgement Keel makes, each with its reason.

Acknowledgements are attached to the narrowest construct kind they are true for, never to a stack or
the app, so a new resource of another kind is still checked.
"""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra.cloud.constructs import ContextFunction, DeadLetterQueue, Rollout
from infra.cloud.stacks import AccountStack

PACK = "AwsSolutions"


def _ack(rule: str, reason: str) -> cdk.Acknowledgment:
    # The "<pack>::" namespace makes CDK record the finding as suppressed, with its reason, in the report.
    return cdk.Acknowledgment(id=f"{PACK}::{PACK}-{rule}", reason=reason)


def _is_public_method(construct: IConstruct) -> bool:
    if not isinstance(construct, apigateway.Method) or construct.http_method == "OPTIONS":
        return False
    resource = construct.node.default_child
    return isinstance(resource, apigateway.CfnMethod) and resource.authorization_type == "NONE"


def _is_cors_preflight(construct: IConstruct) -> bool:
    return isinstance(construct, apigateway.Method) and construct.http_method == "OPTIONS"


def _is_function_policy(construct: IConstruct) -> bool:
    """The policy of a ContextFunction's role (``<function>/Role/DefaultPolicy``)."""
    if not isinstance(construct, iam.Policy):
        return False
    role = construct.node.scope
    return role is not None and isinstance(role.node.scope, ContextFunction)


def _is_rollout_role(construct: IConstruct) -> bool:
    return isinstance(construct, iam.Role) and isinstance(construct.node.scope, Rollout)


def _is_account_logging_role(construct: IConstruct) -> bool:
    return isinstance(construct, iam.Role) and isinstance(construct.node.scope, AccountStack)


ACKNOWLEDGEMENTS: tuple[tuple[Callable[[IConstruct], bool], tuple[cdk.Acknowledgment, ...]], ...] = (
    (
        lambda c: isinstance(c, ContextFunction),
        (
            _ack(
                "L1",
                "Pinned to python3.13 on purpose: the dependency layer is built from cp313 arm64 wheels and "
                "the code is tested on 3.13; moving runtime is a deliberate change of both, not a default.",
            ),
        ),
    ),
    (
        _is_function_policy,
        (
            _ack(
                "IAM5[Resource::*]",
                "Only actions without resource-level permissions use '*': X-Ray PutTraceSegments and "
                "PutTelemetryRecords (active tracing), for the outbox relay dynamodb:ListStreams, and for "
                "an email-sending context's API ses:DeleteSuppressedDestination (account-level). "
                "tests/infra/test_permissions.py fails when any other statement names '*'.",
            ),
        ),
    ),
    (
        lambda c: isinstance(c, DeadLetterQueue),
        (
            _ack(
                "SQS3",
                "This queue is itself a dead-letter queue (an on-failure destination or an EventBridge "
                "target DLQ, which cdk-nag does not recognise as one) and has an alarm on its first message.",
            ),
        ),
    ),
    (
        lambda c: isinstance(c, secretsmanager.Secret),
        (
            _ack(
                "SMG4",
                "A context's signing key (e.g. identity's invitation key) is rotated deliberately, not on a "
                "schedule: rotating it invalidates every link signed with it (invitations live 7 days).",
            ),
        ),
    ),
    (
        lambda c: isinstance(c, cognito.UserPool),
        (
            _ack(
                "COG2",
                "MFA is a deployment setting (keel:cognito mfa, 'optional' TOTP by default): tenants' users sign "
                "up self-service and a B2B product lets each tenant decide; 'required' enforces it.",
            ),
            _ack(
                "COG8",
                "The Plus feature plan (threat protection) is billed per monthly active user; an open-source"
                " starter should not impose that cost. Deployers who need it enable it on this pool.",
            ),
        ),
    ),
    (
        lambda c: isinstance(c, apigateway.RestApi),
        (
            _ack(
                "APIG2",
                "Every method is a Lambda proxy; requests are validated by the handlers' pydantic models "
                "(Powertools enable_validation), which return Keel's 422 error shape instead of API "
                "Gateway's.",
            ),
            _ack(
                "COG4",
                "Methods use Keel's REQUEST Lambda authorizer: it accepts JWTs from Cognito or any "
                "configured OIDC issuer and tenant API keys, and checks membership of the X-Tenant-Id "
                "tenant, which a Cognito user pool authorizer cannot do.",
            ),
        ),
    ),
    (
        _is_account_logging_role,
        (
            _ack(
                "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
                "The account-level role API Gateway needs to write execution and access logs; AWS maintains "
                "this managed policy for exactly that purpose.",
            ),
        ),
    ),
    (
        _is_rollout_role,
        (
            _ack(
                "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]",
                "CodeDeploy's service role for Lambda traffic shifting: AWS maintains this managed policy for "
                "exactly that job (update aliases, read the rollback alarms, invoke hooks named CodeDeployHook_*).",
            ),
        ),
    ),
    (
        _is_public_method,
        (
            _ack(
                "APIG4",
                "A route the topology lists as public (health, API docs, plan catalog, sign-up, the Stripe "
                "webhook, which verifies Stripe's signature instead); all other methods use the authorizer.",
            ),
        ),
    ),
    (
        _is_cors_preflight,
        (
            _ack(
                "APIG4",
                "A CORS preflight: browsers send it without credentials by design; API Gateway answers it itself "
                "(mock integration, no function runs) and only for the configured origins.",
            ),
            _ack(
                "COG4",
                "A CORS preflight: browsers send it without credentials by design, so no authorizer can apply; "
                "API Gateway answers it itself (mock integration) and no function runs.",
            ),
        ),
    ),
)


def apply(app: cdk.App) -> None:
    """Check every stack of ``app`` with AwsSolutions at synth, with Keel's acknowledgements."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    for construct in app.node.find_all():
        for applies_to, acknowledgements in ACKNOWLEDGEMENTS:
            if applies_to(construct):
                cdk.Validations.of(construct).acknowledge(*acknowledgements)
