"""SES's asynchronous verdicts under moto: a hard bounce or a complaint, delivered as SES puts it on
EventBridge and the rule puts it on the queue, fails its email's delivery once and suppresses the
address; a transient bounce changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions.notifications import wiring
from functions.notifications.handlers import on_email_events, on_tenant_suspended
from keel import aws
from keel.contracts.identity import TenantSuspended
from keel.store import OUTBOX_PREFIX
from tests.integration.notifications.support import (
    CONTEXT,
    OWNER,
    TENANT,
    body_of,
    deliver,
    emails,
    emails_to,
    notifications,
    queue_arn,
    tenant_with_members,
)
from tests.support.moto import all_items
from tests.support.pipeline import FakeLambdaContext, eventbridge_message, sqs_event

__all__ = ["notifications"]

SUSPENDED = TenantSuspended(tenant_id=TENANT, operator_id="usr_op", reason="unpaid invoices")
OWNER_EMAIL = "owner@example.com"


@pytest.fixture
def sent_tags(notifications: str) -> Iterator[list[dict[str, str]]]:
    """The ``EmailTags`` of each email notifications sends, as SES receives them."""
    tags: list[dict[str, str]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        tags.append({t["Name"]: t["Value"] for t in params.get("EmailTags", [])})

    events = aws.client("sesv2").meta.events
    events.register("provide-client-params.sesv2.SendEmail", capture)
    tenant_with_members()
    yield tags
    events.unregister("provide-client-params.sesv2.SendEmail", capture)


def ses_detail(event_type: str, message_id: str, tags: dict[str, str], verdict: dict[str, Any]) -> dict[str, Any]:
    """SES's event record for one email, as its EventBridge destination puts it in ``detail``."""
    return {
        "eventType": event_type,
        **verdict,
        "mail": {
            "timestamp": "2026-12-01T09:00:00.000Z",
            "source": "notifications@keel.local",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/keel.local",
            "sendingAccountId": "123456789012",
            "messageId": message_id,
            "destination": [OWNER_EMAIL],
            "headersTruncated": False,
            "tags": {"ses:configuration-set": ["keel-test-notifications"], **{k: [v] for k, v in tags.items()}},
        },
    }


def bounce(bounce_type: str) -> dict[str, Any]:
    return {
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": "Owner@Example.com", "action": "failed", "status": "5.1.1",
                 "diagnosticCode": "smtp; 550 5.1.1 user unknown"},
            ],
            "timestamp": "2026-12-01T09:00:05.000Z",
            "feedbackId": "0100018c-bounce-000000",
            "reportingMTA": "dsn; mta.example.com",
        }
    }  # fmt: skip


COMPLAINT = {
    "complaint": {
        "complainedRecipients": [{"emailAddress": OWNER_EMAIL}],
        "timestamp": "2026-12-01T09:10:00.000Z",
        "feedbackId": "0100018c-complaint-000000",
        "complaintFeedbackType": "abuse",
        "arrivalDate": "2026-12-01T09:09:00.000Z",
    }
}


def from_ses(detail_type: str, detail: dict[str, Any], *, times: int = 1) -> list[dict[str, Any]]:
    """SES's event received ``times`` from the email-events queue (EventBridge delivers at least once)."""
    body = eventbridge_message(detail, detail_type=detail_type, source="aws.ses")
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=CONTEXT.resource_name("email-events"))["QueueUrl"]
    results = []
    for _ in range(times):
        sqs.send_message(QueueUrl=url, MessageBody=body)
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        event = sqs_event(messages, queue_arn=queue_arn("email-events"))
        results.append(on_email_events.handler(event, FakeLambdaContext()))
    return results


def sent_suspension(sent_tags: list[dict[str, str]]) -> tuple[str, dict[str, str]]:
    """The owner is emailed about the suspension: SES's message id and the email's tags."""
    deliver(on_tenant_suspended.handler, SUSPENDED, subscription="tenant-suspended")
    (mail,) = emails_to(OWNER_EMAIL)
    (tags,) = sent_tags
    return str(mail["id"]), tags


def delivery_records() -> list[dict[str, Any]]:
    return [i for i in all_items(wiring.config().table) if str(i["sk"]).startswith("DELIVERY#")]


def failures_published() -> list[dict[str, Any]]:
    outbox = [json.loads(i["event"]) for i in all_items(wiring.config().table) if i["sk"].startswith(OUTBOX_PREFIX)]
    return [e for e in outbox if e["type"] == "notifications.delivery.failed.v1"]


def test_a_hard_bounce_fails_the_delivery_and_publishes_once_when_delivered_twice(sent_tags: Any) -> None:
    message_id, tags = sent_suspension(sent_tags)
    # When SES reports a permanent bounce of it, and EventBridge delivers that twice
    results = from_ses("Email Bounced", ses_detail("Bounce", message_id, tags, bounce("Permanent")), times=2)
    # Then both succeed, the delivery is failed as bounced, and one delivery.failed is published
    assert [body_of(r) for r in results] == [[], []]
    (record,) = delivery_records()
    assert (record["status"], record["reason"]) == ("failed", "bounced")
    (published,) = failures_published()
    assert (published["tenant_id"], published["payload"]["reason"], published["payload"]["user_id"]) == (
        TENANT, "bounced", OWNER,
    )  # fmt: skip


def test_a_complaint_fails_the_delivery_and_publishes_once(sent_tags: Any) -> None:
    message_id, tags = sent_suspension(sent_tags)
    results = from_ses("Email Complaint Received", ses_detail("Complaint", message_id, tags, COMPLAINT), times=2)
    assert [body_of(r) for r in results] == [[], []]
    (record,) = delivery_records()
    assert (record["status"], record["reason"]) == ("failed", "complained")
    assert [e["payload"]["reason"] for e in failures_published()] == ["complained"]


def test_a_transient_bounce_changes_nothing(sent_tags: Any) -> None:
    message_id, tags = sent_suspension(sent_tags)
    (result,) = from_ses("Email Bounced", ses_detail("Bounce", message_id, tags, bounce("Transient")))
    assert body_of(result) == []
    (record,) = delivery_records()
    assert record["status"] == "sent"
    assert failures_published() == []


def test_a_later_email_to_a_bounced_address_is_not_sent_and_is_recorded_suppressed(sent_tags: Any) -> None:
    message_id, tags = sent_suspension(sent_tags)
    from_ses("Email Bounced", ses_detail("Bounce", message_id, tags, bounce("Permanent")))
    # When the tenant is suspended again (another event to the same owner)
    deliver(on_tenant_suspended.handler, SUSPENDED, subscription="tenant-suspended")
    # Then no second email goes out, and the second delivery is failed as suppressed
    assert len(emails()) == 1
    assert sorted(r["reason"] for r in delivery_records()) == ["bounced", "suppressed"]


def test_a_bounce_of_an_email_another_sender_sent_changes_nothing(sent_tags: Any) -> None:
    message_id, _ = sent_suspension(sent_tags)
    (result,) = from_ses("Email Bounced", ses_detail("Bounce", message_id, {}, bounce("Permanent")))
    assert body_of(result) == []
    assert [r["status"] for r in delivery_records()] == ["sent"]


def test_a_bounce_before_its_delivery_is_recorded_is_retried_not_dropped(sent_tags: Any) -> None:
    message_id, tags = sent_suspension(sent_tags)
    # Given SES's verdict on an email of ours whose send is not recorded yet (another message id)
    (early,) = from_ses("Email Bounced", ses_detail("Bounce", f"{message_id}-not-yet", tags, bounce("Permanent")))
    # Then it fails, to come back through the queue, and nothing is failed or published meanwhile
    assert len(body_of(early)) == 1
    assert [r["status"] for r in delivery_records()] == ["sent"]
    assert failures_published() == []


def test_a_message_not_of_ses_shape_fails_and_is_retried(notifications: str) -> None:
    (result,) = from_ses("Email Bounced", {"eventType": "Bounce", "mail": {}})
    assert len(body_of(result)) == 1
