"""A job that records the scheduled events it was fired with."""

from __future__ import annotations

from typing import Any

FIRED: list[dict[str, Any]] = []


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    FIRED.append(event)
    return {"fired": len(FIRED)}
