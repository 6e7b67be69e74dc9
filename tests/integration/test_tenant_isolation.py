"""A handler bug that builds another tenant's key is refused by the tenant's credentials (``keel.isolation``),
through the test-only "things" context's deliberately buggy route and consumer, under moto: the local check
evaluates the leading-key condition the cloud's tenant-access role is built from."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from keel import aws
from keel.events import envelope
from keel.store import get_item, tenant_pk
from tests.support import things
from tests.support.events import api_event, response_json
from tests.support.moto import create_context_table, create_idempotency_table
from tests.support.tenants import ADMIN_A, MEMBER_B, TENANT_A, TENANT_B


@pytest.fixture
def thing_of_a(aws: None) -> str:
    """Tenant A's thing "lamp"; returns its id."""
    create_context_table(things.table())
    create_idempotency_table()
    response = things.handler(api_event("POST", "/v1/things", body={"name": "lamp"}, authorizer=ADMIN_A), None)  # type: ignore[arg-type]
    assert response["statusCode"] == 201
    return str(response_json(response)["id"])


def test_a_route_reaches_its_own_tenants_items_with_the_tenants_credentials(thing_of_a: str) -> None:
    event = api_event("GET", f"/v1/leaky/{TENANT_A}/things/{thing_of_a}", authorizer=ADMIN_A)
    response = things.handler(event, None)  # type: ignore[arg-type]
    assert (response["statusCode"], response_json(response)["name"]) == (200, "lamp")


def test_a_container_assumes_each_tenants_role_once_for_all_of_its_requests(thing_of_a: str) -> None:
    # Given a container that has served tenant A once (its thing's creation)
    assumed: list[str] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        assumed.append(params["Tags"][0]["Value"])

    aws.client("sts").meta.events.register("before-parameter-build.sts.AssumeRole", seen)
    # When A reads three times and B, new to the container, lists its things
    for _ in range(3):
        read = things.handler(api_event("GET", f"/v1/things/{thing_of_a}", authorizer=ADMIN_A), None)  # type: ignore[arg-type]
        assert read["statusCode"] == 200
    listed = things.handler(api_event("GET", "/v1/things", authorizer=MEMBER_B), None)  # type: ignore[arg-type]
    # Then only B's role was assumed, with B as the session tag
    assert listed["statusCode"] == 200
    assert assumed == [TENANT_B]


def test_a_route_that_builds_another_tenants_key_is_refused_and_shows_nothing(thing_of_a: str) -> None:
    # Given tenant A's thing, when a member of tenant B calls the route whose repository takes the tenant from the path
    event = api_event("GET", f"/v1/leaky/{TENANT_A}/things/{thing_of_a}", authorizer=MEMBER_B)
    response = things.handler(event, None)  # type: ignore[arg-type]
    # Then DynamoDB refuses B's credentials the read: an error that names nothing of A's
    assert response["statusCode"] == 500
    assert response_json(response)["error"]["code"] == "internal_error"
    assert "lamp" not in response["body"]


def test_a_consumer_that_writes_under_another_tenant_is_refused_and_writes_nothing(aws: None) -> None:
    create_context_table(things.table())
    # Given an event of tenant B whose (buggy) effect counts under tenant A
    created = envelope(things.ThingCreated(thing_id="thg_1", name=TENANT_A), tenant_id=TENANT_B, aggregate_id="thg_1")
    # When the consumer applies it
    with pytest.raises(ClientError) as refused:
        things.leaky.handle(created)
    # Then B's credentials are refused the write, and neither tenant's partition changed
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert get_item(things.table(), tenant_pk(TENANT_A), "STATS#things") is None
    assert get_item(things.table(), tenant_pk(TENANT_B), f"INBOX#things-leaky#{created.id}") is None
