"""Identity's copy of billing's entitlements: seats and plan follow billing, in any delivery order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from functions.identity.handlers import on_entitlements_changed
from keel.contracts.billing import EntitlementsChanged
from keel.events import Envelope, envelope
from tests.integration.identity.gateway import Gateway, authorize
from tests.support.pipeline import FakeLambdaContext, eventbridge_message
from tests.support.staged import STAGED

T0 = datetime(2026, 11, 1, tzinfo=UTC)
IDENTITY = STAGED.context("identity")
ENTITLEMENTS_QUEUE = IDENTITY.queue_name(IDENTITY.subscriptions[0])


def entitlements(tenant: str, plan: str, seats: int | None, at: datetime) -> Envelope:
    changed = EntitlementsChanged(
        tenant_id=tenant,
        plan=plan,
        seat_limit=seats,
        project_limit=10,
        features={"sso": plan != "free"},
        effective_at=at,
    )
    return envelope(changed, tenant_id=tenant, aggregate_id=tenant)


def deliver(*events: Envelope) -> dict[str, Any]:
    records = []
    for n, event in enumerate(events):
        body = eventbridge_message(event.model_dump(mode="json"), detail_type=event.type, source="keel.billing")
        records.append(
            {
                "messageId": f"m-{n}",
                "receiptHandle": f"r-{n}",
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{ENTITLEMENTS_QUEUE}",
                "awsRegion": "us-east-1",
            }
        )
    return on_entitlements_changed.handler({"Records": records}, FakeLambdaContext())  # type: ignore[arg-type]


def tenant_view(gateway: Gateway, tenant: str) -> dict[str, Any]:
    return dict(gateway.call("GET", "/v1/tenant", as_="ada", tenant=tenant).body)


def test_the_free_plan_applies_until_billing_speaks_then_billings_limits(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    assert (tenant_view(gateway, tenant)["plan"], tenant_view(gateway, tenant)["seat_limit"]) == ("free", 3)
    assert deliver(entitlements(tenant, "pro", 10, T0)) == {"batchItemFailures": []}
    view = tenant_view(gateway, tenant)
    assert (view["plan"], view["seat_limit"]) == ("pro", 10)
    # and the new limit is the one enforced: a 4th seat is now fine
    for n in range(3):
        assert (
            gateway.call(
                "POST", "/v1/invitations", as_="ada", tenant=tenant, body={"email": f"p{n}@example.com"}
            ).status
            == 201
        )


def test_an_older_entitlements_event_arriving_late_is_ignored(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    newer, older = entitlements(tenant, "pro", 10, T0 + timedelta(days=1)), entitlements(tenant, "team", 5, T0)
    assert deliver(newer) == {"batchItemFailures": []}
    assert deliver(older) == {"batchItemFailures": []}
    view = tenant_view(gateway, tenant)
    assert (view["plan"], view["seat_limit"]) == ("pro", 10)


def test_the_same_event_delivered_twice_applies_once(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    event = entitlements(tenant, "pro", None, T0)
    assert deliver(event) == {"batchItemFailures": []}
    assert deliver(event) == {"batchItemFailures": []}
    view = tenant_view(gateway, tenant)
    assert (view["plan"], view["seat_limit"]) == ("pro", None)


def test_the_plan_reaches_the_authorizer_for_people_and_api_keys(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    key = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "CI"}).body
    deliver(entitlements(tenant, "pro", 10, T0))
    person = authorize({"Authorization": f"Bearer {gateway.token('ada')}", "X-Tenant-Id": tenant})
    machine = authorize({"Authorization": f"Bearer {key['secret']}"})
    assert person["context"]["plan"] == machine["context"]["plan"] == "pro"


def test_the_features_reach_the_authorizer_for_people_and_api_keys_made_before_and_after(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    before = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "CI"}).body
    person = {"Authorization": f"Bearer {gateway.token('ada')}", "X-Tenant-Id": tenant}
    # Until entitlements arrive, the authorizer says nothing of features (contexts read their own copy)
    assert "features" not in authorize(person)["context"]
    deliver(entitlements(tenant, "pro", 10, T0))
    after = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "Deploys"}).body
    answers = [authorize(person), *(authorize({"Authorization": f"Bearer {k['secret']}"}) for k in (before, after))]
    assert [a["context"]["features"] for a in answers] == ["sso"] * 3
    # And a plan without them leaves an empty list, not an unknown one
    deliver(entitlements(tenant, "free", 3, T0 + timedelta(days=1)))
    assert [authorize(person)["context"]["features"]] == [""]


def test_changed_features_flush_the_authorizer_cache_and_unchanged_ones_do_not(
    gateway: Gateway, flushes: list[tuple[str, str]]
) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    # The first entitlements: answers cached so far carried no features, so none is stale
    deliver(entitlements(tenant, "pro", 10, T0))
    assert flushes == []
    # More seats, the same features: nothing to flush
    deliver(entitlements(tenant, "pro", 20, T0 + timedelta(hours=1)))
    assert flushes == []
    # The features change (sso off): the stage's cache is flushed once the copy is written
    deliver(entitlements(tenant, "free", 3, T0 + timedelta(hours=2)))
    assert len(flushes) == 1


def test_entitlements_for_an_unknown_tenant_change_nothing(gateway: Gateway) -> None:
    assert deliver(entitlements("ten_01JD0000000000000000000000", "pro", 10, T0)) == {"batchItemFailures": []}
