"""What tells an operator that a context is unwell, generated for every context from what its stack holds.

- **SLOs per API function**, measured on what API Gateway answered for the function's routes (its
  access log, through metric filters): *latency*, 95 % of requests answered within 500 ms (p95 under
  500 ms), and *availability*, under 0.5 % answered 5xx. The access log, not the function's own
  metrics, because only API Gateway sees every answer as the client does: a 500 the kernel's error
  handler shaped (Lambda counts that invocation as a success), a 502/504 when the function crashes or
  times out, an authorizer failure, and latency including the authorizer and cold starts. Counting the
  requests over 500 ms gives the SLI exactly (the share above the objective, ``100 - PR(:500)``) from
  ``Sum`` statistics, which metric-filter metrics always have.
- **Multi-window burn-rate alarms** on each SLO: *fast* (the last hour and the last 5 minutes both burn
  the error budget at 14.4x: 2 % of a 30-day budget gone in an hour) and *slow* (6 hours and 30 minutes
  at 6x: 5 % in 6 hours). CloudWatch gives every metric of one alarm the same period, so each window
  is an alarm of its own (``BurnRateWindow``, which notifies no one) and a composite alarm fires when
  both windows of a pair do.
- **Every function**: errors and throttles (``ContextFunction``); **every queue**: the age of its
  oldest message (``Consumer``, ``DeadLetterQueue``).
- **One dashboard per context**: latency, traffic, errors, saturation.

Every alarm and composite alarm notifies the ``keel-alarms`` topic (``NotifyOnAlarm``), except the
windows, which only feed their composite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from infra.cloud.constructs import Consumer, ContextFunction, DeadLetterQueue, OutboxRelay
from infra.model import Context

#: The latency objective: a request answered later than this is a slow one.
LATENCY_OBJECTIVE_MS = 500
#: Access-log metric names, per context (``ApiMetrics``).
REQUESTS, SLOW_REQUESTS, SERVER_ERRORS = "Requests", "SlowRequests", "ServerErrors"
#: A metric filter pattern may be at most this long; a context with many routes gets several filters.
_MAX_PATTERN = 1024
_DASHBOARD_PERIOD = cdk.Duration.minutes(5)


@dataclass(frozen=True)
class Objective:
    """An SLO: the share of requests that may be bad (``budget``), and which metric counts them."""

    name: str
    bad: str
    budget: float
    meaning: str


LATENCY = Objective("latency", SLOW_REQUESTS, 0.05, f"p95 latency < {LATENCY_OBJECTIVE_MS} ms")
AVAILABILITY = Objective("availability", SERVER_ERRORS, 0.005, "5xx < 0.5 %")
OBJECTIVES = (LATENCY, AVAILABILITY)


@dataclass(frozen=True)
class BurnRate:
    """Fire when both the long and the short window burn the error budget ``factor`` times too fast."""

    name: str
    long: cdk.Duration
    short: cdk.Duration
    factor: float


FAST = BurnRate("fast", cdk.Duration.hours(1), cdk.Duration.minutes(5), 14.4)
SLOW = BurnRate("slow", cdk.Duration.hours(6), cdk.Duration.minutes(30), 6.0)
BURN_RATES = (FAST, SLOW)


@dataclass(frozen=True)
class ApiMetrics:
    """Where one context's API requests are counted: published by the access log's metric filters
    (``ApiMetricFilters``), read by its SLO alarms and its dashboard."""

    ctx: Context
    stage: str

    @property
    def namespace(self) -> str:
        return f"Keel/Api/{self.ctx.name}"

    def metric(self, name: str, period: cdk.Duration = _DASHBOARD_PERIOD) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=name,
            dimensions_map={"Stage": self.stage},
            statistic="Sum",
            period=period,
        )

    def bad_share(
        self, objective: Objective, period: cdk.Duration, *, scale: float, label: str
    ) -> cloudwatch.MathExpression:
        """``bad / requests * scale`` over ``period``: no requests, no data point."""
        return cloudwatch.MathExpression(
            expression=f"FILL(bad, 0) / requests * {scale:g}",
            using_metrics={"bad": self.metric(objective.bad, period), "requests": self.metric(REQUESTS, period)},
            period=period,
            label=label,
        )


class ApiMetricFilters(Construct):
    """Count one context's requests, slow requests and 5xx answers in the API's JSON access log (the
    fields ``resourcePath``, ``httpMethod``, ``status``, ``responseLatency`` and ``stage``)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        log_group: logs.ILogGroup,
        metrics: ApiMetrics,
        resource_paths: Sequence[str],
    ) -> None:
        super().__init__(scope, id)
        conditions = {
            REQUESTS: "",
            SLOW_REQUESTS: f" && $.responseLatency > {LATENCY_OBJECTIVE_MS}",
            SERVER_ERRORS: " && $.status >= 500",
        }
        for index, paths in enumerate(_chunks(sorted(set(resource_paths)), max(len(c) for c in conditions.values()))):
            routes = " || ".join(f'$.resourcePath = "{path}"' for path in paths)
            for name, condition in conditions.items():
                logs.MetricFilter(
                    self,
                    f"{name}{index}",
                    log_group=log_group,
                    # CORS preflights are answered by API Gateway itself: not the function's requests.
                    filter_pattern=logs.FilterPattern.literal(
                        f'{{ ({routes}) && $.httpMethod != "OPTIONS"{condition} }}'
                    ),
                    metric_namespace=metrics.namespace,
                    metric_name=name,
                    metric_value="1",
                    dimensions={"Stage": "$.stage"},
                )


def _chunks(paths: Sequence[str], reserved: int) -> list[list[str]]:
    """Paths grouped so that each filter pattern stays within CloudWatch's length limit."""
    budget = _MAX_PATTERN - reserved - len('{ () && $.httpMethod != "OPTIONS" }')
    chunks: list[list[str]] = [[]]
    used = 0
    for path in paths:
        cost = len(f'$.resourcePath = "{path}" || ')
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(path)
        used += cost
    return chunks


class BurnRateWindow(cloudwatch.Alarm):
    """One window of a burn-rate pair. It notifies no one: the pair's composite alarm does."""


class ApiSlo(Construct):
    """Both SLOs of one context's API, each with its fast and slow burn-rate alarm."""

    def __init__(self, scope: Construct, id: str, *, metrics: ApiMetrics) -> None:
        super().__init__(scope, id)
        self.alarms: list[cloudwatch.CompositeAlarm] = []
        #: The fast burn rate's short windows, one per objective: what rolls a deployment back.
        self.rollback_windows: list[BurnRateWindow] = []
        for objective in OBJECTIVES:
            for rate in BURN_RATES:
                windows = [
                    self._window(metrics, objective, rate, window, f"{objective.name}-{rate.name}-{label}")
                    for label, window in (("long", rate.long), ("short", rate.short))
                ]
                if rate is FAST:
                    self.rollback_windows.append(windows[1])
                self.alarms.append(
                    cloudwatch.CompositeAlarm(
                        self,
                        f"{objective.name}-{rate.name}",
                        alarm_rule=cloudwatch.AlarmRule.all_of(
                            *(cloudwatch.AlarmRule.from_alarm(w, cloudwatch.AlarmState.ALARM) for w in windows)
                        ),
                        alarm_description=(
                            f"{metrics.ctx.name} API {objective.name} SLO ({objective.meaning}): the error budget "
                            f"burns {rate.factor:g}x too fast over {_human(rate.long)} and {_human(rate.short)}"
                        ),
                    )
                )

    def _window(
        self, metrics: ApiMetrics, objective: Objective, rate: BurnRate, window: cdk.Duration, id: str
    ) -> BurnRateWindow:
        return BurnRateWindow(
            self,
            id,
            metric=metrics.bad_share(objective, window, scale=1 / objective.budget, label="burn rate"),
            threshold=rate.factor,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{metrics.ctx.name} API {objective.name}: budget burn over {_human(window)}",
        )


def _human(duration: cdk.Duration) -> str:
    minutes = int(duration.to_minutes())
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


class ContextDashboard(Construct):
    """One CloudWatch dashboard for a context: latency, traffic, errors and saturation, from its API's
    access-log metrics and every function and queue its stack holds."""

    def __init__(self, scope: Construct, id: str, *, ctx: Context, api: ApiMetrics | None) -> None:
        super().__init__(scope, id)
        everything = cdk.Stack.of(scope).node.find_all()
        functions = [c for c in everything if isinstance(c, ContextFunction)]
        consumers = [c for c in everything if isinstance(c, Consumer)]
        dead_letters = [c for c in everything if isinstance(c, DeadLetterQueue)]
        relays = [c for c in everything if isinstance(c, OutboxRelay)]

        def per_function(metric: str, statistic: str) -> list[cloudwatch.IMetric]:
            return [
                f.function.metric(metric, statistic=statistic, period=_DASHBOARD_PERIOD, label=f.node.id)
                for f in functions
            ]

        def graph(title: str, left: Sequence[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=list(left), width=8, height=6)

        latency: list[cloudwatch.IWidget] = [graph("Function duration p95 (ms)", per_function("Duration", "p95"))]
        traffic: list[cloudwatch.IWidget] = [graph("Function invocations", per_function("Invocations", "Sum"))]
        errors: list[cloudwatch.IWidget] = [graph("Function errors", per_function("Errors", "Sum"))]
        saturation: list[cloudwatch.IWidget] = [
            graph("Throttles", per_function("Throttles", "Sum")),
            graph("Concurrent executions", per_function("ConcurrentExecutions", "Maximum")),
        ]
        if api is not None:
            latency.insert(0, graph(f"API: % of requests over {LATENCY_OBJECTIVE_MS} ms (SLO <= 5 %)", [
                api.bad_share(LATENCY, _DASHBOARD_PERIOD, scale=100, label="% slow"),
            ]))  # fmt: skip
            traffic.insert(0, graph("API requests", [api.metric(REQUESTS)]))
            errors.insert(0, graph("API: % answered 5xx (SLO < 0.5 %)", [
                api.bad_share(AVAILABILITY, _DASHBOARD_PERIOD, scale=100, label="% 5xx"),
            ]))  # fmt: skip
        if consumers:
            traffic.append(graph("Events received", [
                c.queue.metric_number_of_messages_received(period=_DASHBOARD_PERIOD, label=c.node.id) for c in consumers
            ]))  # fmt: skip
            saturation.append(graph("Oldest message waiting (s)", [
                c.queue.metric_approximate_age_of_oldest_message(period=_DASHBOARD_PERIOD, label=c.node.id)
                for c in consumers
            ]))  # fmt: skip
        if dead_letters:
            errors.append(graph("Dead letters waiting", [
                d.queue.metric_approximate_number_of_messages_visible(
                    period=_DASHBOARD_PERIOD, statistic="Maximum", label=d.node.path.split("/", 1)[-1]
                )
                for d in dead_letters
            ]))  # fmt: skip
        if relays:
            saturation.append(graph("Outbox relay lag: iterator age (ms)", [
                r.function.function.metric("IteratorAge", statistic="Maximum", period=_DASHBOARD_PERIOD) for r in relays
            ]))  # fmt: skip
        rows: list[list[cloudwatch.IWidget]] = []
        for heading, widgets in (
            ("Latency", latency),
            ("Traffic", traffic),
            ("Errors", errors),
            ("Saturation", saturation),
        ):
            rows.append([cloudwatch.TextWidget(markdown=f"## {heading}", width=24, height=1)])
            rows.append(widgets)
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=ctx.dashboard_name, widgets=rows)


@jsii.implements(cdk.IAspect)
class NotifyOnAlarm:
    """Gives every CloudWatch alarm and composite alarm of a stack the alarm topic as its action (no
    silent alarms), except burn-rate windows, which only feed their composite."""

    def __init__(self, topic: sns.ITopic) -> None:
        self.action = cloudwatch_actions.SnsAction(topic)

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, BurnRateWindow):
            return
        if isinstance(node, cloudwatch.Alarm | cloudwatch.CompositeAlarm):
            node.add_alarm_action(self.action)
