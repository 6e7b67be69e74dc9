"""The platform's main path: the stage is healthy, and its API documents itself."""

from __future__ import annotations

from infra.smoke import Session, SmokeFailure, Step


def steps(session: Session) -> list[Step]:
    def health() -> None:
        answer = session.expect(200, "GET", "/health", headers={})
        if answer.get("status") != "ok":
            raise SmokeFailure(f"GET /health says {answer}")

    def document() -> None:
        paths = session.expect(200, "GET", "/openapi.json", headers={}).get("paths", {})
        if "/v1/tenants" not in paths and session.topology.is_tenantless("POST", "/v1/tenants"):
            raise SmokeFailure("GET /openapi.json does not document the sign-up route")

    return [Step("GET /health is ok", health), Step("GET /openapi.json", document)]
