"""A consumer that records every SQS batch and fails the messages it is told to."""

from __future__ import annotations

import json
from typing import Any

BATCHES: list[dict[str, Any]] = []
#: detail["key"] -> how many more deliveries of it to fail
FAILURES: dict[str, int] = {}


def keys_seen() -> list[str]:
    return [json.loads(r["body"])["detail"]["key"] for batch in BATCHES for r in batch["Records"]]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    BATCHES.append(event)
    failed = []
    for record in event["Records"]:
        key = json.loads(record["body"])["detail"]["key"]
        if FAILURES.get(key, 0) > 0:
            FAILURES[key] -= 1
            failed.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failed}
