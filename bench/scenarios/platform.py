from __future__ import annotations

from bench.harness import Harness
from bench.requests import Step


def steps(h: Harness) -> list[Step]:
    return [
        Step("GET /health", "read", lambda: h.expect(200, "GET", "/health")),
        Step("GET /openapi.json", "read", lambda: h.expect(200, "GET", "/openapi.json")),
    ]
