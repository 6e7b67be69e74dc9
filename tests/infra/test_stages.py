"""Stages side by side: one synth renders staging and prod into one assembly (the session's ``keel``),
with no physical name in common, each with its own settings, from the very same assets."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from infra.cloud.stacks import SAMPLING_RULE_PRIORITY
from tests.infra.cfn import Stack, Synthesized
from tests.infra.conftest import ORIGINS, PROD, STAGES, STAGING

#: Where each kind of resource carries the physical name AWS knows it by (unique in an account and region).
PHYSICAL_NAMES: dict[str, str] = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Archive": "ArchiveName",
    "AWS::Events::Rule": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Cognito::UserPool": "UserPoolName",
    "AWS::Cognito::UserPoolDomain": "Domain",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SSM::Parameter": "Name",
    "AWS::ApiGateway::RestApi": "Name",
}


def _names(synthesized: Synthesized) -> list[tuple[str, str]]:
    """(type, physical name as rendered) of every named resource of the view's stage's own stacks."""
    found = []
    for name in synthesized.topology.stack_names:
        for resource in synthesized.stacks[name].template["Resources"].values():
            kind = resource["Type"]
            if kind in PHYSICAL_NAMES:
                value = resource["Properties"].get(PHYSICAL_NAMES[kind])
                assert value is not None, (
                    f"{name}: a {kind} without {PHYSICAL_NAMES[kind]} (CloudFormation would name it)"
                )
                found.append((kind, json.dumps(value)))
            elif kind == "AWS::XRay::SamplingRule":
                found.append((kind, json.dumps(resource["Properties"]["SamplingRule"]["RuleName"])))
    return found


def _stages(keel: Synthesized) -> tuple[Synthesized, Synthesized]:
    return keel.stage("staging"), keel.stage("prod")


def _tables(stage: Synthesized) -> list[dict[str, Any]]:
    return [table for _, _, table in stage.every("AWS::DynamoDB::Table")]


# -- names -------------------------------------------------------------------------------------------


def test_one_synth_renders_both_stages_and_one_account_stack(keel: Synthesized) -> None:
    staging, prod = _stages(keel)
    # Given the session's assembly, then it holds each stage's stacks and the account's, nothing else
    expected = {keel.topology.account_stack_name, *staging.topology.stack_names, *prod.topology.stack_names}
    assert set(keel.stacks) == expected


def test_no_physical_name_is_shared_between_stages(keel: Synthesized) -> None:
    staging, prod = _stages(keel)
    # Given every physical name each stage's stacks give their resources
    names = {stage.topology.stage: _names(stage) for stage in (staging, prod)}
    # Then each is its stage's (the stage is a word of it), and no two resources of a kind share one
    for stage, found in names.items():
        assert all(f"{stage}" in name.lower() for _, name in found), stage
    duplicated = [item for item, count in Counter([*names["staging"], *names["prod"]]).items() if count > 1]
    assert duplicated == []


def test_every_stack_name_carries_its_stage(keel: Synthesized) -> None:
    staging, prod = _stages(keel)
    assert all("-Staging-" in name for name in staging.topology.stack_names)
    assert all("-Prod-" in name for name in prod.topology.stack_names)


# -- what differs per stage --------------------------------------------------------------------------


def test_prod_keeps_its_data_and_refuses_deletion_while_staging_may_be_destroyed(keel: Synthesized) -> None:
    staging, prod = _stages(keel)
    # Given each stage's tables (the context tables and the idempotency table)
    prod_tables = [t for t in _tables(prod) if "StreamSpecification" in t["Properties"]]
    assert prod_tables
    # Then prod's context tables outlive their stack and refuse deletion
    for table in prod_tables:
        assert (table["DeletionPolicy"], table["Properties"]["DeletionProtectionEnabled"]) == ("Retain", True)
    # While staging's go with it
    for table in _tables(staging):
        assert table["DeletionPolicy"] == "Delete"
        assert not table["Properties"].get("DeletionProtectionEnabled", False)
    # And so do the user pools and secrets
    for stage, kept in ((prod, True), (staging, False)):
        ((_, _, pool),) = stage.every("AWS::Cognito::UserPool")
        assert (pool["DeletionPolicy"] == "Retain") is kept
        assert (pool["Properties"]["DeletionProtection"] == "ACTIVE") is kept
        for _, _, secret in stage.every("AWS::SecretsManager::Secret"):
            assert (secret["DeletionPolicy"] == "Retain") is kept


def test_each_stage_logs_at_its_level_and_keeps_logs_and_events_for_its_time(keel: Synthesized) -> None:
    for stage in _stages(keel):
        settings = STAGES[str(stage.topology.stage)]
        for stack, lid, function in stage.every("AWS::Lambda::Function"):
            # Given each function of the stage, then it logs at the stage's level ...
            assert function["Properties"]["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == settings["log_level"]
            # ... into a log group kept for the stage's retention
            group = stack.props(function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"])
            assert group["RetentionInDays"] == settings["log_retention_days"], lid
        # And its bus archive keeps events for the stage's time
        ((_, _, archive),) = stage.every("AWS::Events::Archive")
        assert archive["Properties"]["RetentionDays"] == settings["archive_retention_days"]


def test_each_stage_traces_its_share_of_api_requests(keel: Synthesized) -> None:
    for stage in _stages(keel):
        ((_, _, rule),) = stage.every("AWS::XRay::SamplingRule")
        sampling = rule["Properties"]["SamplingRule"]
        # Given the stage's sampling rule, then it applies to its API's stage at the stage's rate
        assert sampling["FixedRate"] == STAGES[str(stage.topology.stage)]["tracing_sample_rate"]
        assert sampling["ServiceName"] == f"{stage.topology.rest_api_name}/{stage.topology.stage}"
        assert sampling["Priority"] == SAMPLING_RULE_PRIORITY


def test_each_stage_caches_authorizer_answers_for_its_own_time(keel: Synthesized) -> None:
    for stage in _stages(keel):
        ttls = {
            a["Properties"]["AuthorizerResultTtlInSeconds"] for _, _, a in stage.every("AWS::ApiGateway::Authorizer")
        }
        assert ttls == {STAGES[str(stage.topology.stage)]["authorizer_cache_seconds"]}


def test_each_stage_shifts_traffic_by_its_own_strategy(keel: Synthesized) -> None:
    staging, prod = _stages(keel)
    for stage, strategy in ((staging, STAGING["deploy"]), (prod, PROD["deploy"])):
        configs = {
            g["Properties"]["DeploymentConfigName"] for _, _, g in stage.every("AWS::CodeDeploy::DeploymentGroup")
        }
        assert configs == {f"CodeDeployDefault.Lambda{strategy}"}
    # prod: 10 % of traffic for 5 minutes before the rest; staging: 10 % more every minute
    assert (PROD["deploy"], STAGING["deploy"]) == ("Canary10Percent5Minutes", "Linear10PercentEvery1Minute")


def test_a_stages_own_api_settings_override_the_shared_ones(keel: Synthesized) -> None:
    staging, prod = _stages(keel)

    def origins(stage: Synthesized) -> set[str]:
        functions = [f for _, _, f in stage.every("AWS::Lambda::Function")]
        return {f["Properties"]["Environment"]["Variables"].get("KEEL_CORS_ORIGINS", "") for f in functions}

    # Given prod's own keel:api (one origin) over the shared one (two), then each stage answers its own
    assert origins(staging) == {",".join(ORIGINS)}
    assert origins(prod) == {ORIGINS[0]}


# -- one artifact, promoted --------------------------------------------------------------------------


def _assets(stage: Synthesized) -> dict[str, Counter[str]]:
    """Per context: how often each asset (its content hash) is used by the stage's layers and functions."""
    found: dict[str, Counter[str]] = {}
    for ctx in stage.topology.contexts:
        stack = stage.of(ctx)
        keys: Counter[str] = Counter()
        for kind, prop in (("AWS::Lambda::Function", "Code"), ("AWS::Lambda::LayerVersion", "Content")):
            keys.update(r["Properties"][prop]["S3Key"] for r in stack.of_type(kind).values())
        found[ctx.name] = keys
    return found


def test_staging_and_prod_deploy_byte_identical_assets(keel: Synthesized) -> None:
    staging, prod = _stages(keel)
    # Given the code and layer assets each stage's functions run, named by the hash of their content
    assert _assets(staging) == _assets(prod)
    assert all(_assets(staging).values())
    # And the assembly builds each of them once, for every stage that uses it: one source per hash
    sources: dict[str, set[str]] = {}
    for name in (*staging.topology.stack_names, *prod.topology.stack_names):
        for asset_hash, entry in json.loads((keel.outdir / f"{name}.assets.json").read_text())["files"].items():
            sources.setdefault(asset_hash, set()).add(json.dumps(entry["source"], sort_keys=True))
    assert all(len(paths) == 1 for paths in sources.values())


# -- canary with automatic rollback ------------------------------------------------------------------


def _groups(stack: Stack) -> dict[str, dict[str, Any]]:
    return stack.of_type("AWS::CodeDeploy::DeploymentGroup")


def _alarm(stack: Stack, function: str, metric: str) -> tuple[str, dict[str, Any]]:
    (alarm,) = [
        (lid, a["Properties"])
        for lid, a in stack.of_type("AWS::CloudWatch::Alarm").items()
        if a["Properties"].get("MetricName") == metric
        and a["Properties"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]
    ]
    return alarm


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_every_released_function_shifts_its_live_alias_and_rolls_back_on_its_errors_and_latency(
    keel: Synthesized, stage: str
) -> None:
    view = keel.stage(stage)
    for ctx in view.topology.contexts:
        stack = view.of(ctx)
        for lid, function in stack.of_type("AWS::Lambda::Function").items():
            if function["Properties"]["FunctionName"] == ctx.migrations_function_name:
                continue  # only CloudFormation calls it, once per deploy, before any traffic shifts
            # Given a function, then it has a `live` alias on its current version ...
            alias = stack.props(stack.alias_of(lid))
            assert alias["Name"] == "live"
            # ... which CloudFormation moves only through CodeDeploy, by the function's deployment group
            update = stack.template["Resources"][stack.alias_of(lid)]["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
            group = _groups(stack)[update["DeploymentGroupName"]["Ref"]]["Properties"]
            # And that group rolls back on a failure, a stop, or an alarm, the function's errors among them
            assert set(group["AutoRollbackConfiguration"]["Events"]) == {
                "DEPLOYMENT_FAILURE",
                "DEPLOYMENT_STOP_ON_REQUEST",
                "DEPLOYMENT_STOP_ON_ALARM",
            }
            alarms = {a["Name"]["Ref"] for a in group["AlarmConfiguration"]["Alarms"]}
            assert _alarm(stack, lid, "Errors")[0] in alarms, lid
            # And on its latency: a p99 duration near its timeout, within a canary's minutes
            latency, props = _alarm(stack, lid, "Duration")
            assert latency in alarms, lid
            timeout_ms = function["Properties"]["Timeout"] * 1000
            assert (props["ExtendedStatistic"], props["Period"]) == ("p99", 60)
            assert props["Threshold"] == pytest.approx(0.8 * timeout_ms)
            assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (3, 2)


def test_an_api_function_also_rolls_back_when_its_error_budget_burns_fast(keel: Synthesized) -> None:
    for ctx in (c for c in keel.topology.contexts if c.api_handler):
        stack = keel.of(ctx)
        api = next(
            lid
            for lid, f in stack.of_type("AWS::Lambda::Function").items()
            if f["Properties"]["FunctionName"] == ctx.api_function_name
        )
        update = stack.template["Resources"][stack.alias_of(api)]["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        group = _groups(stack)[update["DeploymentGroupName"]["Ref"]]["Properties"]
        rollback = {a["Name"]["Ref"] for a in group["AlarmConfiguration"]["Alarms"]}
        # Given the API's fast burn-rate windows, the short ones (5 minutes: a canary's time), then both
        # objectives' are rollback alarms of the API function's deployments
        short = {
            lid
            for lid, a in stack.of_type("AWS::CloudWatch::Alarm").items()
            if "fastshort" in lid and "budget burn over 5 min" in a["Properties"]["AlarmDescription"]
        }
        assert len(short) == 2
        assert short <= rollback


def test_everything_that_invokes_a_function_invokes_its_live_alias(keel: Synthesized) -> None:
    for ctx in keel.topology.contexts:
        stack = keel.of(ctx)
        aliases = set(stack.of_type("AWS::Lambda::Alias"))
        # Given the event source mappings and schedules of a context, then each names an alias
        for mapping in stack.of_type("AWS::Lambda::EventSourceMapping").values():
            assert json.dumps(mapping["Properties"]["FunctionName"]).count('"Ref"') == 1
            assert any(alias in json.dumps(mapping["Properties"]["FunctionName"]) for alias in aliases)
        for rule in stack.of_type("AWS::Events::Rule").values():
            for rule_target in rule["Properties"]["Targets"]:
                if ":sqs:" not in json.dumps(rule_target["Arn"]) and "Queue" not in json.dumps(rule_target["Arn"]):
                    assert rule_target["Arn"]["Ref"] in aliases
    # And every integration and authorizer of the API imports a context's alias, never a bare function
    exports = {
        output["Export"]["Name"]: (stack, output["Value"])
        for stack in keel.stage_stacks().values()
        for output in stack.template.get("Outputs", {}).values()
        if "Export" in output
    }
    uses = [
        *(m["Properties"]["Integration"]["Uri"] for m in keel.api.of_type("AWS::ApiGateway::Method").values()
          if m["Properties"].get("Integration", {}).get("Type") == "AWS_PROXY"),
        *(a["Properties"]["AuthorizerUri"] for a in keel.api.of_type("AWS::ApiGateway::Authorizer").values()),
        *(p["Properties"]["FunctionName"] for p in keel.api.of_type("AWS::Lambda::Permission").values()),
    ]  # fmt: skip
    assert uses
    for use in uses:
        (name,) = {v["Fn::ImportValue"] for v in _walk(use) if "Fn::ImportValue" in v}
        stack, value = exports[name]
        assert stack.template["Resources"][value["Ref"]]["Type"] == "AWS::Lambda::Alias", name


def _walk(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value, *(found for item in value.values() for found in _walk(item))]
    if isinstance(value, list):
        return [found for item in value for found in _walk(item)]
    return []
