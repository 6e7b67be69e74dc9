"""Black-box, through ``keel dev``: an operator signed in at the local identity provider suspends a
tenant, and its owner is refused at once, also on the answer the local gateway had cached for them;
reactivated, the owner is served again."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest

from tests.e2e.conftest import DevServer, Owner

pytestmark = pytest.mark.e2e


def operator_headers(dev_server: DevServer) -> dict[str, str]:
    email = f"ops-{uuid4().hex[:12]}@example.com"
    status, _, body = dev_server.get(f"/_local/token?email={email}&operator=1")
    assert status == 200, body
    return {"Authorization": f"Bearer {json.loads(body)['id_token']}"}


def call(dev_server: DevServer, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
    status, _, raw = dev_server.call(method, path, body, headers)
    return status, json.loads(raw) if raw else None


def test_a_suspension_refuses_the_owner_at_once_even_on_a_cached_answer_and_reactivation_lifts_it(
    dev_server: DevServer,
) -> None:
    owner: Owner = dev_server.sign_up("Suspended Co")
    ops = operator_headers(dev_server)
    # Given an owner whose authorization the local gateway has cached (it caches answers for 300 s)
    assert call(dev_server, "GET", "/v1/tenant", owner.headers)[0] == 200
    # When an operator suspends the tenant
    status, suspended = call(dev_server, "POST", f"/v1/admin/tenants/{owner.tenant_id}/suspend", ops, {"reason": "e2e"})
    assert (status, suspended["status"]) == (200, "suspended")
    # Then the owner is refused at once, on reads and writes, with the suspension's code
    for method, path, body in (("GET", "/v1/tenant", None), ("PATCH", "/v1/tenant", {"name": "Renamed"})):
        status, refused = call(dev_server, method, path, owner.headers, body)
        assert (status, refused["error"]["code"]) == (403, "tenant_suspended"), (method, path, refused)
        assert refused["error"]["request_id"]
    # When the operator reactivates it, then the owner is served again (the cached Deny went too)
    status, reactivated = call(dev_server, "POST", f"/v1/admin/tenants/{owner.tenant_id}/reactivate", ops)
    assert (status, reactivated["status"]) == (200, "active")
    assert call(dev_server, "GET", "/v1/tenant", owner.headers)[0] == 200


def test_the_operator_finds_the_tenant_in_the_directory_and_the_owner_cannot_see_it(dev_server: DevServer) -> None:
    owner = dev_server.sign_up("Listed Co")
    ops = operator_headers(dev_server)

    status, directory = call(dev_server, "GET", "/v1/admin/tenants?limit=100", ops)
    status_owner, refused = call(dev_server, "GET", "/v1/admin/tenants", owner.headers)

    assert status == 200
    assert owner.tenant_id in {t["id"] for t in directory["items"]}
    assert (status_owner, refused["error"]["code"]) == (403, "forbidden")
