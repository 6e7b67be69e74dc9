"""Another tenant's projects and tasks do not exist for a caller: every project and task route,
driven from the resolver's own route list, answers another tenant's ids with the same 404 as
unknown ones, and changes nothing."""

from __future__ import annotations

import re

import pytest

from functions.projects.handlers.api import app
from tests.integration.projects.support import OTHER, TENANT, add_task, apply_plan, call, create
from tests.support.moto import all_items

#: A valid body for every route that takes one.
BODIES = {
    ("PATCH", "/v1/projects/<project_id>"): {"name": "Theirs now"},
    ("POST", "/v1/projects/<project_id>/tasks"): {"title": "Planted"},
    ("PATCH", "/v1/projects/<project_id>/tasks/<task_id>"): {"title": "Theirs now"},
}
UNKNOWN = {"project_id": "proj_00000000000000000000000000", "task_id": "task_00000000000000000000000000"}
ROUTES_WITH_IDS = sorted(route for route in app.access_rules if "<project_id>" in route[1])


@pytest.mark.parametrize(("method", "rule"), ROUTES_WITH_IDS, ids=[f"{m} {r}" for m, r in ROUTES_WITH_IDS])
def test_another_tenants_ids_answer_404_like_unknown_ones(table: str, method: str, rule: str) -> None:
    # Given TENANT's project (archived, so that even delete would apply) with a task
    for tenant in (TENANT, OTHER):
        apply_plan(tenant, "business")
    project = create("Ours")
    task = add_task(project["id"])
    call("POST", f"/v1/projects/{project['id']}/archive")
    before = all_items(table)
    ids = {"project_id": project["id"], "task_id": task["id"]}
    path = re.sub(r"<(\w+)>", lambda m: ids[m.group(1)], rule)
    unknown = re.sub(r"<(\w+)>", lambda m: UNKNOWN[m.group(1)], rule)
    # When OTHER's owner calls the route with TENANT's ids, and with unknown ids
    theirs = call(method, path, BODIES.get((method, rule)), tenant=OTHER, role="owner")
    nobodys = call(method, unknown, BODIES.get((method, rule)), tenant=OTHER, role="owner")
    # Then both are the same 404, and nothing changed
    assert (theirs.status, theirs.code, theirs.body["error"]["message"]) == (
        nobodys.status,
        nobodys.code,
        nobodys.body["error"]["message"],
    )
    assert (theirs.status, theirs.code) == (404, "not_found")
    assert all_items(table) == before
