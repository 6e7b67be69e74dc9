"""The billing API under moto, called with API Gateway's own event shape and the authorizer's context:
what a client sees, and what another tenant or a lesser role cannot do."""

from __future__ import annotations

from typing import Any

import pytest

from functions.billing.handlers.api import app, handler
from infra.topology import TOPOLOGY
from keel.store import OUTBOX_PREFIX
from keel.tenancy import Access
from tests.support.events import api_event, authorizer_context, response_json
from tests.support.moto import all_items, create_context_table, create_idempotency_table
from tests.support.pipeline import FakeLambdaContext

CONTEXT = TOPOLOGY.context("billing")
TENANT = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA"
OTHER = "ten_01JDBBBBBBBBBBBBBBBBBBBBBB"


@pytest.fixture
def table(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The context's settings as the topology sets them, and its table as ``keel dev`` creates it."""
    for name, value in CONTEXT.environment.items():
        monkeypatch.setenv(name, value)
    create_context_table(CONTEXT.table_name)
    create_idempotency_table(TOPOLOGY.idempotency_table)
    return CONTEXT.table_name


def call(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    tenant: str = TENANT,
    role: str = "admin",
) -> tuple[int, Any]:
    """``method path`` as API Gateway passes it on once the authorizer let a ``role`` of ``tenant`` in."""
    caller = authorizer_context(tenant_id=tenant, role=role)
    event = api_event(method, path, body=body, query=query, authorizer=caller)
    response = handler(event, FakeLambdaContext())  # type: ignore[arg-type]
    return int(response["statusCode"]), response_json(response)


def test_every_route_names_its_least_access() -> None:
    assert app.access_rules == {
        ("POST", "/v1/billing"): Access.ADMIN,
        ("GET", "/v1/billing"): Access.MEMBER,
        ("GET", "/v1/billing/<billing_item_id>"): Access.MEMBER,
    }


def test_an_admin_creates_a_billing_item_with_its_event_in_the_same_write(table: str) -> None:
    # When an admin creates one
    status, created = call("POST", "/v1/billing", {"name": "First"})
    # Then it is answered, and a member of the tenant reads it back
    assert status == 201
    assert (created["name"], created["version"]) == ("First", 1)
    assert call("GET", f"/v1/billing/{created['id']}", role="member") == (200, created)
    # And its event waits in the outbox, next to it in the tenant's partition
    (outbox,) = [item for item in all_items(table) if item["sk"].startswith(OUTBOX_PREFIX)]
    assert (outbox["event_type"], outbox["pk"]) == ("billing.billing_item.created.v1", f"TENANT#{TENANT}")


def test_the_list_holds_the_tenants_billing_items_newest_first(table: str) -> None:
    first = call("POST", "/v1/billing", {"name": "First"})[1]
    second = call("POST", "/v1/billing", {"name": "Second"})[1]
    call("POST", "/v1/billing", {"name": "Theirs"}, tenant=OTHER)
    # When a member lists them, one at a time
    status, page = call("GET", "/v1/billing", query={"limit": "1"}, role="member")
    # Then the newest comes first, and the cursor leads to the next
    assert status == 200
    assert [x["id"] for x in page["items"]] == [second["id"]]
    _, rest = call("GET", "/v1/billing", query={"limit": "1", "cursor": page["cursor"]}, role="member")
    assert [x["id"] for x in rest["items"]] == [first["id"]]


def test_another_tenants_billing_item_answers_404_like_an_unknown_one(table: str) -> None:
    # Given a billing item of TENANT
    _, created = call("POST", "/v1/billing", {"name": "Ours"})
    # When OTHER's owner asks for it, then it does not exist for them: the same 404 as an unknown id
    assert call("GET", f"/v1/billing/{created['id']}", tenant=OTHER, role="owner")[0] == 404
    status, body = call("GET", "/v1/billing/unknown", role="owner")
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_a_member_cannot_create_a_billing_item(table: str) -> None:
    # When a member tries the admin route
    status, body = call("POST", "/v1/billing", {"name": "Mine"}, role="member")
    # Then it is refused, and nothing was written
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert all_items(table) == []


@pytest.mark.parametrize(
    "body",
    [{"name": "x", "tenant_id": OTHER}, {"name": ""}, {"name": "a\u202eb"}, {}],
    ids=["a smuggled tenant", "an empty name", "a bidi override", "no name"],
)
def test_a_body_that_is_not_a_new_billing_item_is_refused(table: str, body: dict[str, Any]) -> None:
    status, answer = call("POST", "/v1/billing", body)
    assert (status, answer["error"]["code"]) == (422, "validation_error")
    assert all_items(table) == []
