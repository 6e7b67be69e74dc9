"""Every Lambda function is a ContextFunction: one runtime, architecture, tracing, logging and settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from infra.cloud.app import build_app
from infra.model import IDP_AUDIENCE, IDP_ISSUER
from tests.infra.cfn import Stack, Synthesized, target
from tests.infra.conftest import INVITE_URL, SKIP_BUNDLING, STAGES

OPENAPI_IN_ASSET = "/var/task/openapi.json"


def test_every_function_is_python313_on_arm64_traced_with_both_layers(synthesized: Synthesized) -> None:
    # Given every stack that has functions, then all of them share the runtime Keel is built for
    stacks = [s for s in synthesized.stacks.values() if s.of_type("AWS::Lambda::Function")]
    assert stacks
    for stack in stacks:
        stack.assertions.all_resources_properties(
            "AWS::Lambda::Function",
            {
                "Runtime": "python3.13",
                "Architectures": ["arm64"],
                "TracingConfig": {"Mode": "Active"},
                "Layers": [Match.any_value(), Match.any_value()],
            },
        )


def test_every_function_logs_to_its_own_log_group_with_retention(synthesized: Synthesized) -> None:
    # Given every function, when its log group is looked up in the same template
    for stack, lid, function in synthesized.every("AWS::Lambda::Function"):
        log_group = target(function["Properties"]["LoggingConfig"]["LogGroup"])
        # Then it exists there and expires what it keeps
        assert stack.of_type("AWS::Logs::LogGroup")[str(log_group)]["Properties"]["RetentionInDays"] > 0, lid


def _environments(stack: Stack) -> dict[str, dict[str, str]]:
    return {
        lid: function["Properties"]["Environment"]["Variables"]
        for lid, function in stack.of_type("AWS::Lambda::Function").items()
    }


def test_functions_read_platform_settings_and_only_their_own_contexts(synthesized: Synthesized) -> None:
    topology = synthesized.topology
    # Given every function of every context
    for ctx in topology.contexts:
        for lid, env in _environments(synthesized.of(ctx)).items():
            # Then it knows the stage (and logs at its level), its bus and idempotency table, and names its
            # service and metrics
            assert env["KEEL_STAGE"] == topology.stage
            assert env["POWERTOOLS_LOG_LEVEL"] == STAGES[str(topology.stage)]["log_level"]
            assert env["KEEL_BUS_NAME"] == topology.bus_name
            assert env["KEEL_IDEMPOTENCY_TABLE"] == topology.idempotency_table
            assert env["POWERTOOLS_SERVICE_NAME"] == ctx.name
            assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Keel"
            # And its context's settings (its own table included) are set ...
            assert ctx.environment.items() <= env.items(), lid
            # ... while no other context's are
            others = [o.setting_prefix for o in topology.contexts if o.name != ctx.name]
            assert not [name for name in env if name.startswith(tuple(others))], lid


def test_platform_reads_the_openapi_document_shipped_in_its_asset(keel: Synthesized) -> None:
    # Given the real platform context, whose asset carries the OpenAPI document
    platform = keel.topology.context("platform")
    (document,) = platform.asset_files
    # Then its API function reads the document from the asset root
    shipped = {platform.setting_name(document.setting): OPENAPI_IN_ASSET}
    keel.of(platform).assertions.has_resource_properties(
        "AWS::Lambda::Function", {"Environment": {"Variables": Match.object_like(shipped)}}
    )


def test_the_authorizers_context_trusts_keels_user_pool(synthesized: Synthesized) -> None:
    # Given the context that owns the authorizer
    owner = synthesized.topology.authorizer_context
    assert owner is not None
    # Then its functions accept tokens issued by the foundation's user pool, for its app client
    for lid, env in _environments(synthesized.of(owner)).items():
        assert "ProviderURL" in str(env[owner.setting_name(IDP_ISSUER)]), lid
        assert "UsersApp" in str(env[owner.setting_name(IDP_AUDIENCE)]), lid


def test_deployment_settings_reach_only_the_context_they_name(synthesized: Synthesized) -> None:
    # Given keel:settings naming an identity setting (conftest.DEPLOYMENT)
    for ctx in synthesized.topology.contexts:
        for lid, env in _environments(synthesized.of(ctx)).items():
            # Then identity's functions have it and no other context's do
            expected = INVITE_URL if ctx.name == "identity" else None
            assert env.get("KEEL_IDENTITY_INVITE_URL_TEMPLATE") == expected, lid


def test_a_deployment_setting_of_no_context_fails_synth(tmp_path: Path) -> None:
    # Given keel:settings with a name no context of the topology reads
    context = SKIP_BUNDLING | {"keel:settings": {"KEEL_NOBODY_COLOUR": "red"}}
    # When the app is built, then it says which setting is unknown
    with pytest.raises(ValueError, match="KEEL_NOBODY_COLOUR"):
        build_app(outdir=str(tmp_path), context=context)


def test_a_contexts_secret_is_generated_and_readable_by_its_own_functions_only(keel: Synthesized) -> None:
    # Given identity's invitation key (the one secret of the real topology)
    identity = keel.topology.context("identity")
    assert identity.secrets == ("invitation-key",)
    stack = keel.of(identity)
    [(secret_id, secret)] = stack.of_type("AWS::SecretsManager::Secret").items()
    # Then it is generated at deploy, named for its context, and every identity function finds its ARN
    assert secret["Properties"]["Name"] == identity.resource_name("invitation-key")
    assert "GenerateSecretString" in secret["Properties"]
    for lid, env in _environments(stack).items():
        assert target(env["KEEL_IDENTITY_INVITATION_KEY_ARN"]) == secret_id, lid
        assert "KEEL_IDENTITY_INVITATION_KEY" not in env, lid  # the key itself is never in the environment
    # And only contexts with secrets of their own may read secrets at all (each its own stack's)
    readers = {
        other.name
        for other in keel.topology.contexts
        for policy in keel.of(other).of_type("AWS::IAM::Policy").values()
        if "secretsmanager:GetSecretValue" in json.dumps(policy)
    }
    assert readers == {ctx.name for ctx in keel.topology.contexts if ctx.secrets}


def _senders(stack: Stack, queue: str) -> set[str | None]:
    """The roles a policy of ``stack`` lets send messages to the queue called ``queue``."""
    (queue_id,) = [lid for lid, q in stack.of_type("AWS::SQS::Queue").items() if q["Properties"]["QueueName"] == queue]
    return {
        target(role)
        for policy in stack.of_type("AWS::IAM::Policy").values()
        if "sqs:SendMessage" in json.dumps(policy) and f'"{queue_id}"' in json.dumps(policy)
        for role in policy["Properties"]["Roles"]
    }


def test_an_endpoint_runs_in_a_function_of_its_own_the_only_one_that_may_feed_its_work_queue(
    keel: Synthesized,
) -> None:
    # Given each endpoint of the real topology (billing's Stripe webhook receiver)
    assert keel.topology.endpoints
    for ctx, endpoint in keel.topology.endpoints:
        stack = keel.of(ctx)
        functions = stack.of_type("AWS::Lambda::Function")
        handlers = {lid: f["Properties"]["Handler"] for lid, f in functions.items()}
        (own,) = [lid for lid, handler in handlers.items() if handler == f"{endpoint.handler}.handler"]
        # Then its function is not the API's, and it alone may send to the context's work queue
        assert handlers[own] != f"{ctx.api_handler}.handler"
        (work,) = [sub for sub in ctx.subscriptions if sub.is_work_queue]
        senders = _senders(stack, ctx.queue_name(work))
        assert [lid for lid, f in functions.items() if target(f["Properties"]["Role"]) in senders] == [own]
