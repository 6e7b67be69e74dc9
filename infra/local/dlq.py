"""Dead-letter queues: finding one by a name a developer would type, and moving its messages back.

moto 5.2.5 does not implement SQS ``StartMessageMoveTask`` (it answers 500), so a redrive is
receive -> send to the source queue -> delete, ten at a time. The source queue gives each message
a fresh receive count, so the consumer gets its five attempts again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.topology import Topology

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

_HIDE_WHILE_MOVING_SECONDS = 60


class UnknownQueue(LookupError):
    """No subscription's DLQ answers to that name."""


@dataclass(frozen=True)
class DeadLetterQueue:
    context: str
    subscription: str
    queue_name: str
    dlq_name: str

    def names(self) -> set[str]:
        return {
            self.dlq_name,
            self.queue_name,
            self.subscription,
            f"{self.context}/{self.subscription}",
            f"{self.context}.{self.subscription}",
        }


def dead_letter_queues(topology: Topology) -> list[DeadLetterQueue]:
    return [
        DeadLetterQueue(ctx.name, sub.name, ctx.queue_name(sub), ctx.dlq_name(sub))
        for ctx, sub in topology.subscriptions
    ]


def find_dead_letter_queue(topology: Topology, name: str) -> DeadLetterQueue:
    """The DLQ called ``name``: its own name, its source queue's, or the subscription's."""
    matches = [dlq for dlq in dead_letter_queues(topology) if name in dlq.names()]
    if len(matches) == 1:
        return matches[0]
    names = [dlq.dlq_name for dlq in dead_letter_queues(topology)]
    known = ", ".join(names) or "none (the topology has no subscriptions)"
    if matches:
        raise UnknownQueue(f"{name!r} is ambiguous; use one of: {', '.join(m.dlq_name for m in matches)}")
    raise UnknownQueue(f"no dead-letter queue called {name!r}; known: {known}")


def redrive(sqs: SQSClient, dlq: DeadLetterQueue) -> int:
    """Move every message of ``dlq`` back to its source queue; returns how many moved."""
    source_url = sqs.get_queue_url(QueueName=dlq.queue_name)["QueueUrl"]
    dead_url = sqs.get_queue_url(QueueName=dlq.dlq_name)["QueueUrl"]
    moved = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=dead_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=_HIDE_WHILE_MOVING_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return moved
        entries: list[Any] = []
        for i, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        sent_ids = {int(ok["Id"]) for ok in sent.get("Successful", [])}
        if sent_ids:
            sqs.delete_message_batch(
                QueueUrl=dead_url,
                Entries=[{"Id": str(i), "ReceiptHandle": messages[i]["ReceiptHandle"]} for i in sent_ids],
            )
        moved += len(sent_ids)
        if len(sent_ids) < len(messages):
            failed = [f"{f['Id']}: {f.get('Message', f.get('Code'))}" for f in sent.get("Failed", [])]
            raise RuntimeError(f"moved {moved}, but SQS refused some messages: {'; '.join(failed)}")
