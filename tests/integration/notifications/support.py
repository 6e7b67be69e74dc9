"""Notifications under moto: its table, its summary queue and a verified SES sender, its settings as the
topology sets them, and its consumers fed with events in the shape an EventBridge rule puts on SQS."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from infra.local import moto_state
from infra.local.environment import local_secret
from keel import aws
from keel.contracts.identity import MemberJoined, TenantCreated, TenantSuspended
from keel.events import Contract, envelope
from tests.support.moto import create_context_table
from tests.support.pipeline import FakeLambdaContext, eventbridge_message, sqs_event
from tests.support.staged import STAGED

CONTEXT = STAGED.context("notifications")
TENANT = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA"
OTHER = "ten_01JDBBBBBBBBBBBBBBBBBBBBBB"
OWNER, ADMIN, MEMBER = (
    "usr_01JDAAAAAAAAAAAAAAAAAAAAA1",
    "usr_01JDAAAAAAAAAAAAAAAAAAAAA2",
    "usr_01JDAAAAAAAAAAAAAAAAAAAAA3",
)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
API_URL = "https://api.example.com"
OWNER_EMAIL = "owner@example.com"
SUSPENDED = TenantSuspended(tenant_id=TENANT, operator_id="usr_op", reason="unpaid invoices")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def environment() -> dict[str, str]:
    secrets = {CONTEXT.secret_setting(name): local_secret(CONTEXT.name, name) for name in CONTEXT.secrets}
    secrets |= {CONTEXT.secret_setting(name): local_secret(owner, name) for owner, name in CONTEXT.reads_secrets}
    return CONTEXT.environment | secrets | {CONTEXT.setting_name("API_URL"): API_URL}


@pytest.fixture
def notifications(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The context's settings as the topology sets them, its table and queue as ``keel dev`` creates them,
    and ``keel.local`` verified in SES as the sender."""
    for name, value in environment().items():
        monkeypatch.setenv(name, value)
    create_context_table(CONTEXT.table_name)
    for sub in CONTEXT.subscriptions:
        boto3.client("sqs").create_queue(QueueName=CONTEXT.queue_name(sub))
    boto3.client("sesv2").create_email_identity(EmailIdentity="keel.local")
    return CONTEXT.table_name


def queue_arn(subscription: str) -> str:
    return f"arn:aws:sqs:us-east-1:123456789012:{CONTEXT.resource_name(subscription)}"


def deliver(
    handler: Handler,
    payload: Contract,
    *,
    tenant_id: str = TENANT,
    subscription: str = "members",
    event_id: str | None = None,
) -> tuple[dict[str, Any], str]:
    """``payload`` as its event, received once from ``subscription``'s queue; ``(batch response, event id)``."""
    event = envelope(payload, tenant_id=tenant_id, aggregate_id=tenant_id)
    if event_id is not None:
        event = event.model_copy(update={"id": event_id})
    body = eventbridge_message(event.model_dump(mode="json"), detail_type=event.type, source=event.source)
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=CONTEXT.resource_name(subscription))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=body)
    messages = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], MaxNumberOfMessages=1)["Messages"]
    return handler(sqs_event(messages, queue_arn=queue_arn(subscription)), FakeLambdaContext()), event.id


def emails() -> list[dict[str, Any]]:
    return moto_state.sent_emails("us-east-1")


def emails_to(address: str) -> list[dict[str, Any]]:
    return [m for m in emails() if m.get("to") == address]


def tenant_with_members(name: str = "Acme", tenant_id: str = TENANT) -> None:
    """The read model knows ``tenant_id`` with an owner, an admin and a member (identity's events)."""
    from functions.notifications.handlers import on_member_events

    deliver(on_member_events.handler, TenantCreated(
        tenant_id=tenant_id, name=name, slug="acme", owner_user_id=OWNER, owner_email="owner@example.com"
    ), tenant_id=tenant_id)  # fmt: skip
    for user_id, email, role in ((OWNER, "owner", "owner"), (ADMIN, "admin", "admin"), (MEMBER, "member", "member")):
        joined = MemberJoined(user_id=user_id, email=f"{email}@example.com", role=role)  # type: ignore[arg-type]
        deliver(on_member_events.handler, joined, tenant_id=tenant_id)


def body_of(result: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]


def as_json(raw: bytes) -> Any:
    return json.loads(raw)


# -- SES's verdicts, as its EventBridge destination and the email-events rule deliver them ---------------


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


def bounce(bounce_type: str, *addresses: str) -> dict[str, Any]:
    """SES's ``bounce`` of ``addresses`` (the owner's, as their server spells it, by default)."""
    return {
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": address, "action": "failed", "status": "5.1.1",
                 "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
                for address in addresses or ("Owner@Example.com",)
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
    from functions.notifications.handlers import on_email_events

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
    from functions.notifications.handlers import on_tenant_suspended

    deliver(on_tenant_suspended.handler, SUSPENDED, subscription="tenant-suspended")
    (mail,) = emails_to(OWNER_EMAIL)
    (tags,) = sent_tags
    return str(mail["id"]), tags
