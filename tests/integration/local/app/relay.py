"""The real outbox relay behind a recorder that can fail a chosen record once."""

from __future__ import annotations

from typing import Any

from keel import outbox_relay

BATCHES: list[dict[str, Any]] = []
FAIL_ONCE: set[str] = set()


def delivered_markers() -> list[list[str]]:
    """Each batch as the list of its records' ``marker`` attributes (records without one are skipped)."""
    return [
        [
            r["dynamodb"]["NewImage"]["marker"]["S"]
            for r in batch["Records"]
            if "marker" in r["dynamodb"].get("NewImage", {})
        ]
        for batch in BATCHES
    ]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    BATCHES.append(event)
    for position, record in enumerate(event["Records"]):
        marker = record["dynamodb"].get("NewImage", {}).get("marker", {}).get("S")
        if marker in FAIL_ONCE:
            FAIL_ONCE.discard(marker)
            # What came before the failure is done (Lambda checkpoints there), so it is published.
            published = outbox_relay.handler({"Records": event["Records"][:position]}, context)
            if published["batchItemFailures"]:
                return published
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    return outbox_relay.handler(event, context)
