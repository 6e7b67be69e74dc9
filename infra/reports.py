"""``keel reports``: rebuild reporting's read models from the bus archive, and print the revenue report.

A rebuild, the same against ``keel dev`` and a deployed stage:

1. names a new model version in reporting's table (``MODEL`` / ``POINTER``: ``building``); from then on
   the live consumer writes every new event into it as well as into the version reads use;
2. asks EventBridge to replay the archive (from ``--since``, or all of it) onto the bus, filtered to
   reporting's ``rebuild`` rule, whose queue feeds the rebuild consumer (it writes only the new version);
3. waits until the replay is complete and the rebuild queue is empty (a progress bar meanwhile), then
   makes the new version the one reads use, in one write. The old version's items stay.

If the replay fails or a replayed event dead-letters, the new version is abandoned (reads never see it).
Locally the replay is moto's: it replays every archived event of the bus, whatever ``--since`` says, in
the order they were archived, and needs the rule's ``replay-name`` pattern to route them (moto ignores
``FilterArns``; the live consumers receive the replay too, and dedupe it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.reporting.adapters.store import ModelTable
from functions.reporting.adapters.versions import VersionPointer
from functions.reporting.domain.reports import ReportService
from infra.model import Context, Subscription, Topology

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

CONTEXT = "reporting"
REBUILD = "rebuild"
SPARKS = "▁▂▃▄▅▆▇█"


class RebuildFailed(RuntimeError):
    """The replay did not complete, or an event could not be applied: the new version was abandoned."""


@dataclass(frozen=True)
class Clients:
    dynamodb: DynamoDBClient
    events: EventBridgeClient
    sqs: SQSClient


def _reporting(topology: Topology) -> tuple[Context, Subscription]:
    ctx = topology.context(CONTEXT)
    return ctx, next(s for s in ctx.subscriptions if s.name == REBUILD)


def _queue_depth(sqs: SQSClient, name: str) -> int:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    names: Any = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(counts.get(n, 0)) for n in names)


def rebuild(
    topology: Topology,
    clients: Clients,
    *,
    since: datetime | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
    drain: Callable[[], None] = lambda: None,
    poll_seconds: float = 0.5,
    timeout_seconds: float = 3600.0,
) -> int:
    """Rebuild reporting's models into a new version and switch reads to it; returns the version.

    ``progress(done, total)`` is told how many replayed events have been applied; ``drain`` is called
    while waiting (the tests' stand-in for Lambda's SQS poller; ``keel dev`` and AWS poll by themselves).
    """
    ctx, sub = _reporting(topology)
    pointer = VersionPointer(ctx.table_name, clients.dynamodb)
    version = pointer.start_rebuild(since=since.isoformat() if since else None).building
    assert version is not None
    try:
        archive = clients.events.describe_archive(ArchiveName=topology.archive_name)
        rule = clients.events.describe_rule(Name=ctx.rule_name(sub), EventBusName=topology.bus_name)
        name = f"keel-reports-{version}-{int(time.time())}"
        start = since or archive["CreationTime"]
        clients.events.start_replay(
            ReplayName=name,
            EventSourceArn=archive["ArchiveArn"],
            EventStartTime=start,
            EventEndTime=datetime.now(UTC),
            Destination={"Arn": archive["EventSourceArn"], "FilterArns": [rule["Arn"]]},
        )
        total = int(archive.get("EventCount", 0))
        deadline = time.monotonic() + timeout_seconds
        quiet = 0
        while quiet < 2:  # the replay complete and the queue empty twice in a row
            if time.monotonic() > deadline:
                raise RebuildFailed(f"the rebuild did not finish within {timeout_seconds:.0f} s")
            state = clients.events.describe_replay(ReplayName=name)["State"]
            if state in ("FAILED", "CANCELLED"):
                raise RebuildFailed(f"the replay {name} ended {state}")
            drain()
            if _queue_depth(clients.sqs, ctx.dlq_name(sub)):
                raise RebuildFailed(f"replayed events were dead-lettered in {ctx.dlq_name(sub)}")
            remaining = _queue_depth(clients.sqs, ctx.queue_name(sub))
            progress(max(total - remaining, 0), total)
            quiet = quiet + 1 if state == "COMPLETED" and remaining == 0 else 0
            if quiet < 2:
                time.sleep(poll_seconds)
    except BaseException:
        pointer.abandon()
        raise
    pointer.switch(version)
    return version


def revenue_report(topology: Topology, dynamodb: DynamoDBClient, *, first: str, last: str) -> list[dict[str, Any]]:
    """The operators' revenue report, read from the version reads use (one GetItem, one Query)."""
    ctx, _ = _reporting(topology)
    version = VersionPointer(ctx.table_name, dynamodb).read().current
    return ReportService(ModelTable(ctx.table_name, version, dynamodb)).revenue(first=first, last=last)


def sparkline(values: list[int]) -> str:
    """``values`` as a row of block characters, lowest to highest."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    return "".join(SPARKS[0 if span == 0 else (v - low) * (len(SPARKS) - 1) // span] for v in values)


def revenue_table(rows: list[dict[str, Any]]) -> list[str]:
    """The revenue report as lines: one a month and currency, with the currency's MRR so far as a sparkline."""
    header = f"{'month':<8} {'cur':<4} {'MRR':>12} {'ARR':>13} {'new':>10} {'expansion':>10} {'contraction':>11} "
    header += f"{'churned':>10} {'reactivated':>11} {'refunds':>10} {'credits':>10}  trend"
    lines = [header]
    history: dict[str, list[int]] = {}
    for row in rows:
        trend = history.setdefault(row["currency"], [])
        trend.append(row["mrr"])
        money = [row[k] / 100 for k in ("mrr", "arr", "new", "expansion", "contraction", "churned", "reactivated")]
        lines.append(
            f"{row['month']:<8} {row['currency']:<4} {money[0]:>12,.2f} {money[1]:>13,.2f} {money[2]:>10,.2f} "
            f"{money[3]:>10,.2f} {money[4]:>11,.2f} {money[5]:>10,.2f} {money[6]:>11,.2f} "
            f"{row['refunds'] / 100:>10,.2f} {row['credit_notes'] / 100:>10,.2f}  {sparkline(trend)}"
        )
    return lines
