"""Billing under moto (a fresh account per test) and one local Stripe emulator for the session.

Tests share the emulator (it holds every test's customers side by side); each test gets a webhook
endpoint of its own that records Stripe's deliveries, removed when it ends."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from infra.local.stripe import DeliveryPolicy, EmulatorSettings, StripeEmulator
from infra.model import (
    MAX_RECEIVE_COUNT,
    STRIPE_API_BASE,
    STRIPE_API_KEY,
    STRIPE_WEBHOOK_SECRET,
    dead_letter_queue_name,
)
from keel import settings
from tests.integration.billing.support import API_KEY, CONTEXT, QUEUE, SECRET, Billing
from tests.integration.identity.conftest import identity, idp  # noqa: F401 - fixtures the operators' tests share
from tests.integration.identity.gateway import Gateway
from tests.integration.stripe.support import Receiver
from tests.support.moto import create_context_table, create_idempotency_table
from tests.unit.identity.idp import LocalIdp

FAST = DeliveryPolicy(first_retry_seconds=0.05, backoff_factor=2.0, max_attempts=3, timeout_seconds=2.0)


@pytest.fixture(scope="session")
def stripe_emulator() -> Iterator[StripeEmulator]:
    emulator = StripeEmulator(EmulatorSettings(delivery=FAST, tick_seconds=0.05)).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def stripe_receiver(stripe_emulator: StripeEmulator) -> Iterator[Receiver]:
    receiver = Receiver().start()
    endpoint = stripe_emulator.add_webhook(receiver.url, SECRET)
    yield receiver
    stripe_emulator.wait_for_deliveries(5)
    import stripe

    stripe.StripeClient(API_KEY, base_addresses={"api": stripe_emulator.url}).v1.webhook_endpoints.delete(
        endpoint["id"]
    )
    stripe_emulator.app.controls.faults.clear()
    receiver.stop()


def create_work_queue(name: str) -> str:
    """The work queue and its DLQ as ``keel dev`` makes them (no wait between receives)."""
    sqs = boto3.client("sqs")
    dlq = sqs.create_queue(QueueName=dead_letter_queue_name(name))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
    return sqs.create_queue(
        QueueName=name, Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(redrive)}
    )["QueueUrl"]


@pytest.fixture
def billing(
    aws: None, monkeypatch: pytest.MonkeyPatch, stripe_emulator: StripeEmulator, stripe_receiver: Receiver
) -> Billing:
    """Billing's settings as the topology and the local runtime set them, its table and its queue."""
    given = CONTEXT.environment | {
        CONTEXT.setting_name(STRIPE_API_BASE): stripe_emulator.url,
        CONTEXT.setting_name(STRIPE_API_KEY): API_KEY,
        CONTEXT.setting_name(STRIPE_WEBHOOK_SECRET): SECRET,
        # Failures reach billing at once (the SDK's retries would only slow the fault tests down).
        CONTEXT.setting_name("STRIPE_MAX_NETWORK_RETRIES"): "0",
        CONTEXT.setting_name("STRIPE_TIMEOUT_SECONDS"): "1.0",  # a loaded CI machine answers slowly too
    }
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    settings.reset()
    create_context_table(CONTEXT.table_name)
    create_idempotency_table()
    return Billing(stripe_emulator, stripe_receiver, create_work_queue(QUEUE))


@pytest.fixture
def gateway(billing: Billing, identity: str, idp: LocalIdp) -> Gateway:  # noqa: F811 - the fixtures imported above
    """The real authorizer in front of every context's API: identity signs people up and knows who
    is a member, billing answers its own routes (its operators' among them)."""
    return Gateway(idp)
