"""The operators in the cloud: their group in the user pool, and exactly what suspending a tenant (and a
change of its plan's features) needs to flush API Gateway's cache of authorizer answers (the API's id in
an SSM parameter, one IAM grant per function that flushes)."""

from __future__ import annotations

import json
from typing import Any

from keel.contracts.billing import EntitlementsChanged
from tests.infra.cfn import Stack, Synthesized, target


def _joined(value: Any) -> str:
    """An ``Fn::Join`` as text, each reference written ``<logical id>``, each pseudo parameter ``{name}``."""
    if isinstance(value, str):
        return value

    def text(part: Any) -> str:
        if isinstance(part, str):
            return part
        return f"{{{part['Ref']}}}" if str(part.get("Ref", "")).startswith("AWS::") else f"<{target(part)}>"

    return "".join(text(part) for part in value["Fn::Join"][1])


def _statements(stack: Stack) -> list[tuple[str, dict[str, Any]]]:
    return [
        (lid, statement)
        for lid, policy in stack.of_type("AWS::IAM::Policy").items()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def test_the_user_pool_has_the_operators_group(keel: Synthesized) -> None:
    (group,) = keel.foundation.of_type("AWS::Cognito::UserPoolGroup").values()
    (pool,) = keel.foundation.of_type("AWS::Cognito::UserPool")
    assert group["Properties"]["GroupName"] == "keel-operators"
    assert target(group["Properties"]["UserPoolId"]) == pool


def test_the_api_stack_writes_its_id_where_the_authorizers_context_reads_it(synthesized: Synthesized) -> None:
    # Given the API's one REST API and the parameter it writes
    (api,) = synthesized.api.of_type("AWS::ApiGateway::RestApi")
    name = synthesized.topology.api_id_parameter(str(synthesized.topology.stage))
    parameters = synthesized.api.of_type("AWS::SSM::Parameter").values()
    (parameter,) = (p for p in parameters if p["Properties"]["Name"] == name)
    assert target(parameter["Properties"]["Value"]) == api
    # Then every function of the authorizer's context is told that name, and no other context's is
    owner = synthesized.topology.authorizer_context
    assert owner is not None
    for stack, _, function in synthesized.every("AWS::Lambda::Function"):
        environment = function["Properties"].get("Environment", {}).get("Variables", {})
        told = environment.get(owner.setting_name("API_ID_PARAMETER"))
        assert told == (name if stack.name == owner.stack_name else None), stack.name


def test_only_the_authorizers_api_function_and_entitlements_consumer_may_flush_and_only_this_stages_cache(
    synthesized: Synthesized,
) -> None:
    # Given every IAM statement of every stack of the stage that grants an API Gateway management action
    # on a stage
    grants = [
        (stack, lid, statement)
        for stack in synthesized.stage_stacks().values()
        for lid, statement in _statements(stack)
        if any(action.startswith("apigateway:") for action in _actions(statement))
        and "/restapis/" in json.dumps(statement["Resource"])
    ]
    # Then each is DELETE on this stage's authorizer cache of this API (FlushStageAuthorizersCache)
    (api,) = synthesized.api.of_type("AWS::ApiGateway::RestApi")
    stage = synthesized.topology.stage
    cache = f"arn:{{AWS::Partition}}:apigateway:{{AWS::Region}}::/restapis/<{api}>/stages/{stage}/cache/authorizers"
    for stack, _, statement in grants:
        assert stack.name == synthesized.topology.api_stack_name
        assert _actions(statement) == ["apigateway:DELETE"]
        assert _joined(statement["Resource"]) == cache
    # And they are attached to the roles of the authorizer's context's API function (suspensions) and of
    # its consumer of entitlements (features changing), imported by ARN, and to no other
    owner = synthesized.topology.authorizer_context
    assert owner is not None
    roles = sorted(json.dumps(role) for stack, policy, _ in grants for role in stack.props(policy)["Roles"])
    assert len(roles) == 2
    assert f"{owner.stack_name}:ExportsOutputFnGetAttApiRole" in roles[0] + roles[1]
    (consumer,) = (sub for sub in owner.subscriptions if EntitlementsChanged.TYPE in sub.event_types)
    logical = "".join(c for c in consumer.name if c.isalnum())
    assert f"{owner.stack_name}:ExportsOutputFnGetAttConsume{logical}Role" in roles[0] + roles[1]


def test_the_api_stacks_roles_may_read_its_parameters_and_nothing_else_of_ssm(synthesized: Synthesized) -> None:
    parameters = set(synthesized.api.of_type("AWS::SSM::Parameter"))
    reads = [
        statement
        for _, statement in _statements(synthesized.api)
        if any(action.startswith("ssm:") for action in _actions(statement))
    ]
    assert reads
    for statement in reads:
        read = _joined(statement["Resource"])
        assert any(read.endswith(f":parameter<{parameter}>") for parameter in parameters), statement
