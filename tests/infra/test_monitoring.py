"""SLOs, alarms and dashboards, generated for every context of the topology: later contexts get them
without writing any. The objectives are the platform's: p95 latency under 500 ms and under 0.5 % 5xx
per API, with fast (1 h and 5 min at 14.4x) and slow (6 h and 30 min at 6x) burn-rate alarms."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from infra.cloud.constructs import DLQ_EXPIRY_WARNING_DAYS, DLQ_RETENTION
from infra.cloud.monitoring import ApiMetricFilters, ApiMetrics
from infra.topology import MAX_RECEIVE_COUNT, Context
from tests.infra.cfn import Resource, Stack, Synthesized, target

#: (bad-request metric, the filter condition that counts them, the share of requests allowed to be bad)
OBJECTIVES = {
    "latency": ("SlowRequests", "$.responseLatency > 500", 0.05),
    "availability": ("ServerErrors", "$.status >= 500", 0.005),
}
#: Burn-rate factor -> (long window, short window) in seconds.
BURN_RATES = {14.4: (3600, 300), 6: (21600, 1800)}


def _alarm_references(composite: Resource) -> set[str]:
    """The logical ids of the alarms a composite alarm's rule combines."""
    rule = json.dumps(composite["Properties"]["AlarmRule"])
    return set(re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)", "Arn"\]', rule))


def _window(alarm: Resource) -> tuple[str, str, float, int, float]:
    """(namespace, bad metric, budget scale, period, threshold) of a burn-rate window alarm."""
    props = alarm["Properties"]
    (expression,) = [m for m in props["Metrics"] if "Expression" in m]
    stats = {m["Id"]: m["MetricStat"] for m in props["Metrics"] if "MetricStat" in m}
    match = re.fullmatch(r"FILL\(bad, 0\) / requests \* ([0-9.]+)", expression["Expression"])
    assert match, expression["Expression"]
    assert stats["requests"]["Metric"]["MetricName"] == "Requests"
    assert stats["bad"]["Stat"] == stats["requests"]["Stat"] == "Sum"
    assert stats["bad"]["Period"] == stats["requests"]["Period"]
    namespace = stats["bad"]["Metric"]["Namespace"]
    return namespace, stats["bad"]["Metric"]["MetricName"], float(match[1]), stats["bad"]["Period"], props["Threshold"]


def _burn_rate_alarms(stack: Stack) -> set[tuple[str, str, float, frozenset[int], float]]:
    """(namespace, bad metric, budget scale, windows, factor) of every composite burn-rate alarm."""
    alarms = stack.of_type("AWS::CloudWatch::Alarm")
    found = set()
    for composite in stack.of_type("AWS::CloudWatch::CompositeAlarm").values():
        rule = json.dumps(composite["Properties"]["AlarmRule"])
        assert ") AND ALARM(" in rule  # both windows must burn
        assert " OR " not in rule
        windows = [_window(alarms[lid]) for lid in _alarm_references(composite)]
        ((namespace, bad, scale, factor),) = {(n, b, s, t) for n, b, s, _, t in windows}
        found.add((namespace, bad, scale, frozenset(w[3] for w in windows), factor))
    return found


def test_every_api_function_has_fast_and_slow_burn_rate_alarms_on_both_slos(synthesized: Synthesized) -> None:
    with_api = [ctx for ctx in synthesized.topology.contexts if ctx.api_handler]
    assert with_api
    # Given every context with an API function
    for ctx in with_api:
        # Then its stack holds a fast and a slow burn-rate alarm for latency and for 5xx, each on its
        # own API's requests, over both windows, at the budget of its objective
        expected = {
            (f"Keel/Api/{ctx.name}", bad, 1 / budget, frozenset(windows), factor)
            for bad, _, budget in OBJECTIVES.values()
            for factor, windows in BURN_RATES.items()
        }
        assert _burn_rate_alarms(synthesized.of(ctx)) == expected, ctx.name


def _filters(api: Stack, namespace: str) -> dict[str, list[str]]:
    """Metric name -> filter patterns of the access-log metric filters publishing to ``namespace``."""
    found: dict[str, list[str]] = {}
    for metric_filter in api.of_type("AWS::Logs::MetricFilter").values():
        props = metric_filter["Properties"]
        (transformation,) = props["MetricTransformations"]
        if transformation["MetricNamespace"] == namespace:
            assert target(props["LogGroupName"]) in api.of_type("AWS::Logs::LogGroup")
            assert transformation["Dimensions"] == [{"Key": "Stage", "Value": "$.stage"}]
            found.setdefault(transformation["MetricName"], []).append(props["FilterPattern"])
    return found


def _served(synthesized: Synthesized, ctx: Context) -> set[str]:
    """The resource paths whose methods call ``ctx``'s API function."""
    return {path for _, path, props in synthesized.api.methods() if f"{ctx.stack_name}:" in str(props["Integration"])}


def test_each_apis_requests_are_counted_from_the_access_log_on_its_own_routes(synthesized: Synthesized) -> None:
    for ctx in (c for c in synthesized.topology.contexts if c.api_handler):
        # Given the access-log metric filters of one context's API
        filters = _filters(synthesized.api, f"Keel/Api/{ctx.name}")
        assert set(filters) == {"Requests", "SlowRequests", "ServerErrors"}
        for name, patterns in filters.items():
            # Then they count exactly the routes API Gateway sends to its function, preflights aside
            paths = {p for pattern in patterns for p in re.findall(r'\$\.resourcePath = "([^"]+)"', pattern)}
            assert paths == _served(synthesized, ctx), (ctx.name, name)
            assert all('$.httpMethod != "OPTIONS"' in pattern for pattern in patterns)
        # And slow requests and 5xx are what the objectives say
        for bad, condition, _ in OBJECTIVES.values():
            assert all(condition in pattern for pattern in filters[bad])


def test_an_api_with_many_routes_is_counted_by_several_filters_within_cloudwatchs_limit() -> None:
    # Given a context whose API serves more routes than one filter pattern can name (1024 characters)
    stack = cdk.Stack(cdk.App(), "Api")
    paths = [f"/v1/a-rather-long-resource-name-{n}/{{proxy+}}" for n in range(40)]
    metrics = ApiMetrics(Context(name="busy"), "dev")
    ApiMetricFilters(stack, "Sli", log_group=logs.LogGroup(stack, "Logs"), metrics=metrics, resource_paths=paths)
    # When its filters are rendered
    patterns: dict[str, list[str]] = {}
    for metric_filter in Template.from_stack(stack).find_resources("AWS::Logs::MetricFilter").values():
        props = metric_filter["Properties"]
        patterns.setdefault(props["MetricTransformations"][0]["MetricName"], []).append(props["FilterPattern"])
    # Then each count is split over several filters, each within the limit, naming every route once
    for name, found in patterns.items():
        assert len(found) > 1, name
        assert all(len(pattern) <= 1024 for pattern in found), name
        named = [p for pattern in found for p in re.findall(r'\$\.resourcePath = "([^"]+)"', pattern)]
        assert sorted(named) == sorted(paths), name


def test_burn_rate_windows_only_feed_their_composite_which_notifies(synthesized: Synthesized) -> None:
    topic = next(iter(synthesized.foundation.of_type("AWS::SNS::Topic")))
    for ctx in (c for c in synthesized.topology.contexts if c.api_handler):
        stack = synthesized.of(ctx)
        composites = stack.of_type("AWS::CloudWatch::CompositeAlarm").values()
        windows = {lid for composite in composites for lid in _alarm_references(composite)}
        # Then a page comes from the composite (both windows burning), never from one window alone
        for composite in composites:
            assert topic in json.dumps(composite["Properties"]["AlarmActions"])
        for lid in windows:
            assert not stack.props(lid).get("AlarmActions"), lid


def _alarms_on(stack: Stack, metric: str) -> list[dict[str, Any]]:
    return [
        a["Properties"]
        for a in stack.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == metric
    ]


def test_every_function_alarms_on_any_error_or_throttle(synthesized: Synthesized) -> None:
    # Given every function of every stack
    for stack, lid, _ in synthesized.every("AWS::Lambda::Function"):
        for metric in ("Errors", "Throttles"):
            # Then one alarm watches its errors and one its throttles, from the first occurrence
            (alarm,) = [
                a
                for a in _alarms_on(stack, metric)
                if {"Name": "FunctionName", "Value": {"Ref": lid}} in a["Dimensions"]
            ]
            assert alarm["Namespace"] == "AWS/Lambda"
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_every_queue_alarms_on_the_age_of_its_oldest_message(synthesized: Synthesized) -> None:
    # Given every queue of every stack: consumers' queues and dead-letter queues
    for stack, lid, queue in synthesized.every("AWS::SQS::Queue"):
        (alarm,) = [
            a
            for a in _alarms_on(stack, "ApproximateAgeOfOldestMessage")
            if {"Name": "QueueName", "Value": {"Fn::GetAtt": [lid, "QueueName"]}} in a["Dimensions"]
        ]
        # Then a consumer's queue alarms once a message has outlived all its attempts, and a DLQ
        # before its oldest message expires
        if "RedrivePolicy" in queue["Properties"]:
            expected = queue["Properties"]["VisibilityTimeout"] * MAX_RECEIVE_COUNT
        else:
            expected = (DLQ_RETENTION.to_days() - DLQ_EXPIRY_WARNING_DAYS) * 86400
            assert expected < queue["Properties"]["MessageRetentionPeriod"]
        assert alarm["Threshold"] == expected, lid
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def _text(value: Any) -> str:
    """A dashboard body as text (CloudFormation holds it as an ``Fn::Join`` of strings and references)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_text(part) for part in value["Fn::Join"][1])
    return value if isinstance(value, str) else json.dumps(value)


def test_each_context_has_one_dashboard_of_latency_traffic_errors_and_saturation(synthesized: Synthesized) -> None:
    for ctx in synthesized.topology.contexts:
        stack = synthesized.of(ctx)
        # Given a context, then its stack has one dashboard, under the context's name
        (dashboard,) = stack.of_type("AWS::CloudWatch::Dashboard").values()
        assert dashboard["Properties"]["DashboardName"] == ctx.dashboard_name
        body = _text(dashboard["Properties"]["DashboardBody"])
        # With the four golden signals
        for section in ("## Latency", "## Traffic", "## Errors", "## Saturation"):
            assert section in body, (ctx.name, section)
        # And every function of the context in it
        for lid in stack.of_type("AWS::Lambda::Function"):
            assert lid in json.dumps(dashboard["Properties"]["DashboardBody"]), (ctx.name, lid)
        if ctx.api_handler:
            assert f"Keel/Api/{ctx.name}" in body
