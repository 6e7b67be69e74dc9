"""``keel dev``'s emulation of FCM's HTTP v1 send endpoint, served by the local gateway under
``/_local/fcm`` (notifications' ``FCM_ENDPOINT`` points there) and listed at ``GET /_local/push``.

It answers as FCM does: ``{"name": "projects/<p>/messages/<id>"}`` for a message it accepts, and for a
token containing ``stale`` the 404 FCM gives a token that is no longer registered (``errorCode:
UNREGISTERED``), so the sender's removal of stale devices can be seen locally. What it accepted is
kept (the last ``CAPACITY``) for ``/_local/push``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

#: Where the gateway serves the emulator: FCM's own paths follow it (``/v1/projects/<p>/messages:send``).
FCM_PREFIX = "/_local/fcm"
SEND_PATH = re.compile(rf"^{FCM_PREFIX}/v1/projects/([A-Za-z0-9_\-]+)/messages:send$")
CAPACITY = 1000
STALE_MARK = "stale"


def _unregistered() -> dict[str, Any]:
    return {
        "error": {
            "code": 404,
            "message": "Requested entity was not found.",
            "status": "NOT_FOUND",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}],
        }
    }


def _invalid(message: str) -> dict[str, Any]:
    return {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}


class PushEmulator:
    def __init__(self) -> None:
        self._sent: deque[dict[str, Any]] = deque(maxlen=CAPACITY)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, project: str, body: bytes | None) -> tuple[int, dict[str, Any]]:
        """FCM's answer to one ``messages:send``: ``(status, JSON body)``."""
        try:
            message = json.loads(body or b"{}").get("message")
        except (ValueError, AttributeError):
            return 400, _invalid("the body is not JSON")
        if not isinstance(message, dict) or not isinstance(message.get("token"), str):
            return 400, _invalid("message.token is required")
        if STALE_MARK in message["token"]:
            return 404, _unregistered()
        with self._lock:
            name = f"projects/{project}/messages/{next(self._ids)}"
            self._sent.append({"name": name, "at": datetime.now(UTC).isoformat(timespec="milliseconds"), **message})
        return 200, {"name": name}

    def sent(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._sent)
