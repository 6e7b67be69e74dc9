"""Notifications under moto: its table, its summary queue and a verified SES sender, its settings as the
topology sets them, and its consumers fed with events in the shape an EventBridge rule puts on SQS."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from infra.local import moto_state
from infra.local.environment import local_secret
from keel.contracts.identity import MemberJoined, TenantCreated
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
