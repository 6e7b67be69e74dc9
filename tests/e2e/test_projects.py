"""Black-box, through ``keel dev``: projects within the plan that billing announces, under real
concurrency over HTTP, and the export an operator's override switches on."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import pytest

from tests.e2e.conftest import DevServer, Owner

pytestmark = pytest.mark.e2e

FREE_PROJECT_LIMIT = 3


def call(dev_server: DevServer, method: str, path: str, owner: Owner, body: Any = None) -> tuple[int, Any]:
    status, _, raw = dev_server.call(method, path, body, owner.headers)
    return status, json.loads(raw) if raw else None


def until(check: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.1)
    return found


def signed_up_on_free(dev_server: DevServer) -> Owner:
    """A new tenant, once billing's free plan has reached projects (the sign-up saga's events)."""
    owner = dev_server.sign_up("Projects")
    # Until the plan arrives an export is 409 entitlements_pending; then the free plan refuses it (403).
    probe = "/v1/projects/proj_00000000000000000000000000/export"
    until(lambda: call(dev_server, "GET", probe, owner)[0] == 403, "the free plan's arrival in projects")
    return owner


def test_twenty_concurrent_creates_at_a_limit_of_three_leave_exactly_three(dev_server: DevServer) -> None:
    owner = signed_up_on_free(dev_server)
    # When 20 creates race over HTTP
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(
            pool.map(lambda n: call(dev_server, "POST", "/v1/projects", owner, {"name": f"P{n}"}), range(20))
        )
    # Then exactly 3 were created, every other one refused as over the limit
    assert Counter(status for status, _ in answers) == {201: FREE_PROJECT_LIMIT, 403: 20 - FREE_PROJECT_LIMIT}
    assert {body["error"]["code"] for status, body in answers if status == 403} == {"limit_reached"}
    # And the tenant holds exactly those 3
    _, listed = call(dev_server, "GET", "/v1/projects?status=active", owner)
    created = {body["id"] for status, body in answers if status == 201}
    assert {p["id"] for p in listed["items"]} == created
    # And the counter is consistent: archiving one frees exactly one place
    call(dev_server, "POST", f"/v1/projects/{sorted(created)[0]}/archive", owner)
    assert call(dev_server, "POST", "/v1/projects", owner, {"name": "Next"})[0] == 201
    assert call(dev_server, "POST", "/v1/projects", owner, {"name": "Over"})[0] == 403


def test_an_operators_override_switches_the_export_on(dev_server: DevServer) -> None:
    owner = signed_up_on_free(dev_server)
    _, project = call(dev_server, "POST", "/v1/projects", owner, {"name": "Website"})
    export = f"/v1/projects/{project['id']}/export"
    # Given the free plan, the export is refused, naming the plans that have it
    status, refused = call(dev_server, "GET", export, owner)
    assert (status, refused["error"]["code"]) == (403, "feature_not_in_plan")
    assert refused["error"]["details"]["plans"] == ["pro", "business"]
    # When an operator overrides the tenant's entitlements with the feature
    email = f"ops-{uuid4().hex[:12]}@example.com"
    _, _, token = dev_server.get(f"/_local/token?email={email}&operator=1")
    operator = {"Authorization": f"Bearer {json.loads(token)['id_token']}"}
    body = {"features": {"project_export": True}, "reason": "trial of the export"}
    status, _, _ = dev_server.call("PUT", f"/v1/admin/entitlements/{owner.tenant_id}", body, operator)
    assert status == 200
    # Then, once billing's announcement arrives, the project exports as CSV
    until(lambda: dev_server.call("GET", export, headers=owner.headers)[0] == 200, "the override in projects")
    _, headers, csv = dev_server.call("GET", export, headers=owner.headers)
    assert headers["Content-Type"].startswith("text/csv")
    assert csv.decode().splitlines()[1].startswith(f"project,{project['id']},Website,active")
