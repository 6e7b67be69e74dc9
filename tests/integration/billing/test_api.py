"""Billing's API under moto with Stripe's emulator: what a client sees, the least role of each route,
the refusals that never leave a Stripe object behind, invoices and refunds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from functions.billing import wiring
from functions.billing.domain.invoices import Invoice
from functions.billing.domain.ports import Changes
from functions.billing.handlers.api import app, handler
from keel import settings
from keel.tenancy import Access
from tests.integration.billing.support import Billing, new_tenant, published, types_published
from tests.integration.stripe.support import advance
from tests.support.events import api_event, response_json
from tests.support.moto import dynamodb_clients
from tests.support.pipeline import FakeLambdaContext


def test_every_route_names_its_least_access() -> None:
    assert app.access_rules == {
        ("GET", "/v1/billing/plans"): Access.PUBLIC,
        ("GET", "/v1/billing/subscription"): Access.MEMBER,
        ("POST", "/v1/billing/checkout"): Access.ADMIN,
        ("POST", "/v1/billing/portal"): Access.ADMIN,
        ("POST", "/v1/billing/subscription/preview"): Access.ADMIN,
        ("POST", "/v1/billing/subscription/change"): Access.ADMIN,
        ("POST", "/v1/billing/subscription/cancel"): Access.ADMIN,
        ("GET", "/v1/billing/subscription/cancel-preview"): Access.ADMIN,
        ("GET", "/v1/billing/subscription/history"): Access.ADMIN,
        ("GET", "/v1/billing/invoices"): Access.ADMIN,
        ("GET", "/v1/billing/invoices/<invoice_id>"): Access.ADMIN,
        ("POST", "/v1/billing/refunds"): Access.OWNER,
        ("GET", "/v1/admin/entitlements/<tenant_id>"): Access.OPERATOR,
        ("PUT", "/v1/admin/entitlements/<tenant_id>"): Access.OPERATOR,
        ("DELETE", "/v1/admin/entitlements/<tenant_id>"): Access.OPERATOR,
    }


def test_the_plan_catalog_is_public_and_priced_in_minor_units(billing: Billing) -> None:
    response = handler(api_event("GET", "/v1/billing/plans"), FakeLambdaContext())  # type: ignore[arg-type]
    assert response["statusCode"] == 200
    plans = {p["name"]: p for p in response_json(response)["items"]}
    assert list(plans) == ["free", "pro", "business"]
    assert plans["pro"]["prices"]["monthly"] == {"amount": 2900, "currency": "usd"}
    assert (plans["pro"]["seat_limit"], plans["business"]["seat_limit"]) == (10, None)
    assert plans["business"]["features"]["sso"] is True


# -- checkout and the portal ---------------------------------------------------------------------


def test_checkout_makes_the_stripe_customer_once_and_the_same_session_for_a_retry(billing: Billing) -> None:
    tenant = billing.sign_up()
    first = billing.call("POST", "/v1/billing/checkout", {"plan": "pro", "interval": "monthly"}, tenant=tenant)
    again = billing.call("POST", "/v1/billing/checkout", {"plan": "pro", "interval": "monthly"}, tenant=tenant)
    assert (first.status, again.status) == (201, 201)
    assert first.body["url"] == again.body["url"]
    customer = billing.account_customer(tenant)
    assert billing.stripe.v1.customers.retrieve(customer).metadata["tenant_id"] == tenant


def test_checkout_while_a_paid_subscription_exists_is_409_and_makes_nothing_at_stripe(billing: Billing) -> None:
    tenant = billing.sign_up()
    billing.checkout(tenant)
    customer = billing.account_customer(tenant)
    sessions = len(billing.stripe.v1.checkout.sessions.list(params={"customer": customer}).data)
    reply = billing.call("POST", "/v1/billing/checkout", {"plan": "business", "interval": "annual"}, tenant=tenant)
    assert (reply.status, reply.code) == (409, "subscription_exists")
    assert len(billing.stripe.v1.checkout.sessions.list(params={"customer": customer}).data) == sessions


@pytest.mark.parametrize("plan", ["free", "platinum"])
def test_checkout_of_a_plan_that_is_not_sold_is_422(billing: Billing, plan: str) -> None:
    reply = billing.call("POST", "/v1/billing/checkout", {"plan": plan}, tenant=billing.sign_up())
    assert (reply.status, reply.code) == (422, "validation_error")


def test_the_api_offers_exactly_the_catalogs_paid_plans() -> None:
    from typing import get_args

    from functions.billing.domain.plans import PLANS
    from functions.billing.handlers.views import PaidPlanName

    assert list(get_args(PaidPlanName)) == [plan.name for plan in PLANS if not plan.is_free]


def test_a_member_can_read_the_subscription_but_not_check_out(billing: Billing) -> None:
    tenant = billing.sign_up()
    assert billing.call("GET", "/v1/billing/subscription", tenant=tenant, role="member").status == 200
    reply = billing.call("POST", "/v1/billing/checkout", {"plan": "pro"}, tenant=tenant, role="member")
    assert (reply.status, reply.code) == (403, "forbidden")


def test_the_portal_needs_a_stripe_customer(billing: Billing) -> None:
    tenant = billing.sign_up()
    reply = billing.call("POST", "/v1/billing/portal", tenant=tenant)
    assert (reply.status, reply.code) == (409, "no_stripe_customer")
    billing.checkout(tenant)
    reply = billing.call("POST", "/v1/billing/portal", tenant=tenant)
    assert reply.status == 201
    assert "/portal/" in reply.body["url"]


# -- plan changes -------------------------------------------------------------------------------


def test_a_plan_change_is_previewed_then_made_and_announced(billing: Billing) -> None:
    tenant = billing.sign_up()
    billing.checkout(tenant)
    preview = billing.call("POST", "/v1/billing/subscription/preview", {"plan": "business"}, tenant=tenant)
    assert preview.status == 200
    assert 0 < preview.body["amount_due_now"] <= 9900
    assert preview.body["next_invoice"]["amount"] == 9900
    assert billing.call("GET", "/v1/billing/subscription", tenant=tenant).body["plan"] == "pro"
    changed = billing.call("POST", "/v1/billing/subscription/change", {"plan": "business"}, tenant=tenant)
    assert (changed.status, changed.body["plan"], changed.body["entitlements"]["seat_limit"]) == (200, "business", None)
    (event,) = published(tenant, "billing.subscription.plan_changed.v1")
    assert (event["payload"]["previous_plan"], event["payload"]["plan"]) == ("pro", "business")
    assert event["payload"]["changed_by"] == billing.user_id
    billing.sync()  # Stripe's own word on it changes nothing more
    assert len(published(tenant, "billing.subscription.plan_changed.v1")) == 1


def test_changing_to_the_current_plan_is_409(billing: Billing) -> None:
    tenant = billing.sign_up()
    billing.checkout(tenant)
    reply = billing.call("POST", "/v1/billing/subscription/change", {"plan": "pro"}, tenant=tenant)
    assert (reply.status, reply.code) == (409, "same_plan")
    on_free = billing.call("POST", "/v1/billing/subscription/change", {"plan": "pro"}, tenant=billing.sign_up())
    assert (on_free.status, on_free.code) == (409, "no_paid_subscription")


# -- cancelling ---------------------------------------------------------------------------------


def test_cancelling_at_the_period_end_twice_is_409(billing: Billing) -> None:
    tenant = billing.sign_up()
    billing.checkout(tenant)
    reply = billing.call("POST", "/v1/billing/subscription/cancel", {"when": "period_end"}, tenant=tenant)
    assert (reply.status, reply.body["subscription"]["cancel_at_period_end"]) == (200, True)
    again = billing.call("POST", "/v1/billing/subscription/cancel", {"when": "period_end"}, tenant=tenant)
    assert (again.status, again.code) == (409, "already_canceled")


def test_a_prorated_refund_needs_cancelling_now(billing: Billing) -> None:
    reply = billing.call(
        "POST", "/v1/billing/subscription/cancel", {"when": "period_end", "refund": "prorated"}, tenant=new_tenant()
    )
    assert (reply.status, reply.code) == (422, "validation_error")


@pytest.fixture
def on_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each new Stripe customer on a test clock of its own (what keel dev does): times stand still."""
    monkeypatch.setenv("KEEL_BILLING_STRIPE_TEST_CLOCKS", "true")
    settings.reset()


def test_cancelling_now_refunds_the_unused_time_the_preview_said(billing: Billing, on_clocks: None) -> None:
    # Given a Pro subscription ten days into its period
    tenant = billing.sign_up()
    billing.checkout(tenant)
    customer = billing.stripe.v1.customers.retrieve(billing.account_customer(tenant))
    clock = billing.stripe.v1.test_helpers.test_clocks.retrieve(customer.test_clock)
    advance(billing.stripe, clock.id, clock.frozen_time + 10 * 86400)
    billing.sync()
    # When the admin asks what cancelling now would refund, then cancels now with a prorated refund
    preview = billing.call("GET", "/v1/billing/subscription/cancel-preview", tenant=tenant)
    done = billing.call("POST", "/v1/billing/subscription/cancel", {"when": "now", "refund": "prorated"}, tenant=tenant)
    # Then the refund is what the preview said: the unused part of what was paid
    assert done.status == 200, done
    assert done.body["refund"]["amount"] == preview.body["refund"]
    assert 0 < preview.body["refund"] < 2900
    assert done.body["subscription"]["plan"] == "free"
    for event_type in ("billing.subscription.canceled.v1", "billing.refund.issued.v1"):
        assert event_type in types_published(tenant)
    assert published(tenant, "billing.entitlements.changed.v1")[-1]["payload"]["plan"] == "free"
    # And Stripe refunded exactly that, once
    refunds = billing.stripe.v1.refunds.list(params={"limit": 100}).data
    assert [r.amount for r in refunds if r.id == done_refund_id(billing, tenant)] == [done.body["refund"]["amount"]]
    # And cancelling again is a clear 409
    again = billing.call("POST", "/v1/billing/subscription/cancel", {"when": "now"}, tenant=tenant)
    assert (again.status, again.code) == (409, "already_canceled")


def done_refund_id(billing: Billing, tenant: str) -> str:
    from tests.integration.billing.support import items_of

    (refund,) = [i for i in items_of(tenant) if str(i["sk"]).startswith("REFUND#")]
    return str(refund["stripe_refund_id"])


# -- invoices -----------------------------------------------------------------------------------


def put_invoices(tenant: str, count: int) -> list[str]:
    """``count`` invoices written by billing's own ledger (as the processor records them)."""
    start = datetime(2030, 1, 1, tzinfo=UTC)
    made = []
    for n in range(count):
        at = start + timedelta(days=30 * n)
        invoice = Invoice(
            tenant_id=tenant,
            id=f"in_test{n:03d}",
            number=f"KEEL-{n:04d}",
            status="paid",
            billing_reason="subscription_cycle",
            subscription_id="sub_x",
            currency="usd",
            subtotal=2900,
            total=2900,
            amount_due=2900,
            amount_paid=2900,
            amount_remaining=0,
            refunded=0,
            attempt_count=1,
            next_payment_attempt=None,
            hosted_invoice_url=None,
            invoice_pdf=None,
            period_start=at,
            period_end=at + timedelta(days=30),
            created=at,
            finalized_at=at,
            paid_at=at,
        )
        wiring.ledger().commit(Changes(invoices=[invoice]))
        made.append(invoice.id)
    return made


def test_invoices_come_ten_to_a_page_newest_first_then_by_cursor(billing: Billing) -> None:
    tenant = new_tenant()
    made = put_invoices(tenant, 12)
    first = billing.call("GET", "/v1/billing/invoices", tenant=tenant, role="admin")
    assert [i["id"] for i in first.body["items"]] == list(reversed(made))[:10]
    rest = billing.call("GET", "/v1/billing/invoices", tenant=tenant, query={"cursor": first.body["cursor"]})
    assert [i["id"] for i in rest.body["items"]] == list(reversed(made))[10:]
    assert rest.body["cursor"] is None
    for limit in ("0", "101"):
        reply = billing.call("GET", "/v1/billing/invoices", tenant=tenant, query={"limit": limit})
        assert (reply.status, reply.code) == (422, "validation_error")


def test_another_tenants_invoice_is_404_like_an_unknown_one(billing: Billing) -> None:
    tenant = new_tenant()
    (invoice_id,) = put_invoices(tenant, 1)
    assert billing.call("GET", f"/v1/billing/invoices/{invoice_id}", tenant=tenant).status == 200
    assert billing.call("GET", f"/v1/billing/invoices/{invoice_id}", tenant=new_tenant()).code == "not_found"
    assert billing.call("GET", "/v1/billing/invoices/in_nope", tenant=tenant).code == "not_found"


# -- refunds ------------------------------------------------------------------------------------


def paid_invoice(billing: Billing) -> tuple[str, str]:
    tenant = billing.sign_up()
    billing.checkout(tenant)
    (invoice,) = billing.call("GET", "/v1/billing/invoices", tenant=tenant).body["items"]
    assert invoice["status"] == "paid"
    return tenant, str(invoice["id"])


def refund(billing: Billing, tenant: str, body: dict[str, object], key: str | None = "key-1", role: str = "owner"):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": key} if key else {}
    return billing.call("POST", "/v1/billing/refunds", body, tenant=tenant, role=role, headers=headers)


def stripe_refunds_of(billing: Billing, invoice_id: str) -> list[int]:
    notes = billing.stripe.v1.credit_notes.list(params={"invoice": invoice_id}).data
    return [note.amount for note in notes]


def test_an_owner_refunds_part_of_an_invoice_and_it_is_announced(billing: Billing) -> None:
    tenant, invoice_id = paid_invoice(billing)
    reply = refund(billing, tenant, {"invoice_id": invoice_id, "amount": 1000, "reason": "product_unsatisfactory"})
    assert reply.status == 201, reply
    assert (reply.body["amount"], reply.body["currency"]) == (1000, "usd")
    (event,) = published(tenant, "billing.refund.issued.v1")
    assert (event["payload"]["amount"], event["payload"]["issued_by"]) == (1000, billing.user_id)
    shown = billing.call("GET", f"/v1/billing/invoices/{invoice_id}", tenant=tenant).body
    assert shown["amount_refunded"] == 1000
    assert stripe_refunds_of(billing, invoice_id) == [1000]


def test_a_refund_beyond_what_is_left_is_422_and_refunds_nothing(billing: Billing) -> None:
    tenant, invoice_id = paid_invoice(billing)
    reply = refund(billing, tenant, {"invoice_id": invoice_id, "amount": 2901, "reason": "duplicate"})
    assert (reply.status, reply.code) == (422, "refund_exceeds_remainder")
    assert reply.body["error"]["details"]["refundable"] == 2900
    assert stripe_refunds_of(billing, invoice_id) == []
    whole = refund(billing, tenant, {"invoice_id": invoice_id, "reason": "duplicate"}, key="key-2")
    assert (whole.status, whole.body["amount"]) == (201, 2900)
    nothing_left = refund(billing, tenant, {"invoice_id": invoice_id, "reason": "duplicate"}, key="key-3")
    assert (nothing_left.status, nothing_left.code) == (422, "not_refundable")


def test_refunds_are_for_owners_and_need_an_idempotency_key(billing: Billing) -> None:
    tenant, invoice_id = paid_invoice(billing)
    body = {"invoice_id": invoice_id, "reason": "duplicate"}
    assert refund(billing, tenant, body, role="admin").code == "forbidden"
    missing = refund(billing, tenant, body, key=None)
    assert (missing.status, missing.code) == (422, "validation_error")
    assert missing.body["error"]["details"][0]["loc"][-1].lower() == "idempotency-key"
    assert refund(billing, new_tenant(), body).code == "not_found"
    assert stripe_refunds_of(billing, invoice_id) == []


def test_the_same_idempotency_key_replays_the_refund(billing: Billing) -> None:
    tenant, invoice_id = paid_invoice(billing)
    body = {"invoice_id": invoice_id, "amount": 500, "reason": "duplicate"}
    first, second = refund(billing, tenant, body), refund(billing, tenant, body)
    assert (first.status, second.status) == (201, 201)
    assert first.body == second.body
    assert stripe_refunds_of(billing, invoice_id) == [500]


def test_a_refund_whose_local_write_failed_is_retried_without_a_second_stripe_refund(billing: Billing) -> None:
    # Given a paid invoice, and DynamoDB failing the next write that records a refund
    tenant, invoice_id = paid_invoice(billing)
    failures = []

    def fail_once(params: dict[str, object], **_: object) -> None:
        if not failures and "REFUND#" in str(params):
            failures.append(params)
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "TransactWriteItems")

    for client in dynamodb_clients(tenant):
        client.meta.events.register("before-call.dynamodb.TransactWriteItems", fail_once)
    body = {"invoice_id": invoice_id, "amount": 700, "reason": "duplicate"}
    # When the owner asks, the write fails, and the owner retries with the same key
    failed = refund(billing, tenant, body)
    retried = refund(billing, tenant, body)
    # Then the first answer was an error, the retry a success, and Stripe refunded once
    assert (failed.status, retried.status) == (500, 201)
    assert failures
    assert stripe_refunds_of(billing, invoice_id) == [700]
    assert len(published(tenant, "billing.refund.issued.v1")) == 1
    # And Stripe's own word on it (charge.refunded) records nothing twice
    billing.sync()
    assert len(published(tenant, "billing.refund.issued.v1")) == 1


# -- history ------------------------------------------------------------------------------------


def test_the_history_says_which_plan_applied_on_a_day(billing: Billing) -> None:
    tenant = billing.sign_up()
    billing.checkout(tenant)
    today = datetime.now(UTC).date().isoformat()
    reply = billing.call("GET", "/v1/billing/subscription/history", tenant=tenant, query={"at": today})
    assert reply.status == 200
    assert [(e["plan"], e["status"]) for e in reply.body["items"]][-1] == ("pro", "active")
    assert reply.body["paid_that_day"] is True
    whole = billing.call("GET", "/v1/billing/subscription/history", tenant=tenant)
    assert [e["plan"] for e in whole.body["items"]][-1] == "free"  # newest first: the free plan came first
    for day in ("yesterday", "0", "2026-02-30", "2026-1-1"):
        bad = billing.call("GET", "/v1/billing/subscription/history", tenant=tenant, query={"at": day})
        assert (bad.status, bad.code) == (422, "validation_error"), day
