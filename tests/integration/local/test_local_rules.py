"""The local bus rules match what the cloud's do: an event reaches a consumer only from the source of
the context that publishes its type, so an outbox item typed as another context's event reaches no
consumer (in the cloud the relay may not even put it: IAM holds each relay to its own source)."""

from __future__ import annotations

import json

import boto3

from infra.local.provision import AwsClients, provision
from infra.topology import LOCAL_STAGE, TOPOLOGY

REGION = "us-east-1"


def _delivered(aws: None, *, source: str, detail_type: str) -> int:
    """How many events the identity consumer's queue gets after one ``PutEvents`` of that source and type."""
    clients = AwsClients.made_by(lambda service: boto3.client(service, region_name=REGION))
    local = TOPOLOGY.for_stage(LOCAL_STAGE)
    provisioned = provision(local, clients, REGION)
    (queue,) = [q for q in provisioned.queues if q.context == "identity"]
    entry = {"Source": source, "DetailType": detail_type, "Detail": json.dumps({}), "EventBusName": local.bus_name}
    assert clients.events.put_events(Entries=[entry])["FailedEntryCount"] == 0
    received = clients.sqs.receive_message(QueueUrl=queue.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return len(received.get("Messages", []))


def test_an_event_from_its_producers_source_reaches_the_consumer(aws: None) -> None:
    # Given identity's consumer of billing's entitlements, when billing's source publishes the type
    assert _delivered(aws, source="keel.billing", detail_type="billing.entitlements.changed.v1") == 1


def test_an_event_typed_as_another_contexts_never_reaches_the_consumer(aws: None) -> None:
    # When identity's source publishes an event typed as billing's, then the consumer never sees it
    assert _delivered(aws, source="keel.identity", detail_type="billing.entitlements.changed.v1") == 0


def _ses_bounces_received(*, bus: str | None) -> int:
    """How many SES bounces notifications' email-events queue gets after one on ``bus`` (the default bus when None)."""
    clients = AwsClients.made_by(lambda service: boto3.client(service, region_name=REGION))
    provisioned = provision(TOPOLOGY.for_stage(LOCAL_STAGE), clients, REGION)
    (queue,) = [q for q in provisioned.queues if (q.context, q.subscription) == ("notifications", "email-events")]
    entry = {"Source": "aws.ses", "DetailType": "Email Bounced", "Detail": json.dumps({"eventType": "Bounce"})}
    if bus is not None:
        entry["EventBusName"] = bus
    assert clients.events.put_events(Entries=[entry])["FailedEntryCount"] == 0  # type: ignore[list-item]
    received = clients.sqs.receive_message(QueueUrl=queue.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return len(received.get("Messages", []))


def test_ses_events_on_the_default_bus_reach_notifications_email_events(aws: None) -> None:
    assert _ses_bounces_received(bus=None) == 1


def test_ses_shaped_events_on_keels_bus_do_not(aws: None) -> None:
    assert _ses_bounces_received(bus=TOPOLOGY.for_stage(LOCAL_STAGE).bus_name) == 0
