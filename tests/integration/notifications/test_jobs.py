"""The shared send pace on DynamoDB, and the weekly summary from the job's SendMessageBatch to the email."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3

from functions.notifications.adapters.pacer import DynamoPacer
from functions.notifications.handlers import summaries, weekly_summary
from tests.integration.notifications.support import (
    ADMIN,
    CONTEXT,
    MEMBER,
    NOW,
    emails,
    notifications,
    tenant_with_members,
)
from tests.support.pipeline import FakeLambdaContext, sqs_event

__all__ = ["notifications"]


def test_two_consumers_share_one_pace_per_second(notifications: str) -> None:
    # Given two consumers, each with its own pacer on the one table, and a rate of three per second
    first, second = (DynamoPacer(notifications, {"ses": 3}) for _ in range(2))
    # When both take in the same second, then three sends go between them and the fourth waits
    taken = [pacer.take("ses", at=NOW) for pacer in (first, second, first, second)]
    assert taken == [True, True, True, False]
    # And the next second has a fresh allowance, while another provider never had its spent
    assert second.take("ses", at=NOW + timedelta(seconds=1))
    assert DynamoPacer(notifications, {"fcm": 1}).take("fcm", at=NOW)


def test_the_weekly_job_queues_in_batches_and_the_consumer_sends_each_summary(notifications: str) -> None:
    tenant_with_members()
    from tests.integration.notifications.test_api import call

    call("PUT", "/v1/notification-preferences", {"product": {"email": False}}, user=ADMIN, role="admin")
    batches: list[int] = []
    sqs = boto3.client("sqs")

    def count(params: dict[str, Any], **_: Any) -> None:
        batches.append(len(params["Entries"]))

    from keel import aws

    aws.sqs().meta.events.register("provide-client-params.sqs.SendMessageBatch", count)
    try:
        # When the job runs
        assert weekly_summary.handler({"id": "run-1"}, FakeLambdaContext()) == {"queued": 2}  # type: ignore[arg-type]
    finally:
        aws.sqs().meta.events.unregister("provide-client-params.sqs.SendMessageBatch", count)
    # Then it sent one batch for the two members who want it, and no email itself
    assert (batches, emails()) == ([2], [])
    url = sqs.get_queue_url(QueueName=CONTEXT.resource_name("summaries"))["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert sorted(json.loads(m["Body"])["user_id"] for m in messages) == sorted(
        ["usr_01JDAAAAAAAAAAAAAAAAAAAAA1", MEMBER]
    )
    # When the consumer receives them (twice), then each gets one summary
    for _ in range(2):
        result = summaries.handler(sqs_event(messages), FakeLambdaContext())  # type: ignore[arg-type]
        assert result == {"batchItemFailures": []}
    assert sorted(m["to"] for m in emails()) == ["member@example.com", "owner@example.com"]
    assert all(m["subject"] == "Your week at Acme" for m in emails())
