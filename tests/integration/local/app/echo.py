"""An API handler that answers with the proxy event it received (or misbehaves on purpose)."""

from __future__ import annotations

import json
from typing import Any

RECEIVED: list[dict[str, Any]] = []


def handler(event: dict[str, Any], context: Any) -> Any:
    path = event["path"]
    if path == "/v1/probe/fast":
        return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "ok", "isBase64Encoded": False}
    if path == "/v1/probe/raise":
        raise RuntimeError("secret internals: password=hunter2")
    if path == "/v1/probe/malformed":
        return "not a proxy response"
    RECEIVED.append(event)
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"X-Probe": ["one", "two"]},
        "body": json.dumps({"event": event, "function_name": context.function_name}),
        "isBase64Encoded": False,
    }
