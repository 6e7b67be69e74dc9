"""Two writers at the same moment: the API and Stripe's webhooks (or the sign-up's provisioning) both
write a tenant's account. The loser reads it again and applies what Stripe answered to the fresh copy;
every fact is still announced once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.integration.billing.support import Billing, items_of, published, types_published
from tests.support.moto import dynamodb_clients


def before_the_next_account_write(tenant: str, work: Callable[[], None]) -> list[bool]:
    """Run ``work`` (another writer) just before the API's next transaction on ``tenant``'s account reaches
    DynamoDB."""
    done: list[bool] = []

    def interleave(params: dict[str, Any], **_: Any) -> None:
        if not done and '"ACCOUNT"' in str(params.get("body", b"")):
            done.append(True)
            work()

    for client in dynamodb_clients(tenant):
        client.meta.events.register("before-call.dynamodb.TransactWriteItems", interleave)
    return done


def test_a_checkout_racing_the_sign_ups_provisioning_links_the_customer_to_the_one_account(billing: Billing) -> None:
    # Given a tenant whose sign-up event has not been processed yet
    tenant = "ten_01JDRACE000000000000000000"
    raced = before_the_next_account_write(tenant, lambda: billing.sign_up(tenant))
    # When its admin checks out while the provisioning writes the free plan at the same moment
    reply = billing.call("POST", "/v1/billing/checkout", {"plan": "pro"}, tenant=tenant)
    # Then the checkout succeeded on the provisioned account: one free plan start, the customer linked
    assert raced
    assert reply.status == 201, reply
    assert types_published(tenant).count("billing.subscription.started.v1") == 1
    account = next(i for i in items_of(tenant) if i["sk"] == "ACCOUNT")
    assert account["customer_id"].startswith("cus_")


def test_a_cancellation_racing_stripes_own_word_on_it_refunds_and_announces_once(billing: Billing) -> None:
    # Given a Pro tenant
    tenant = billing.sign_up()
    billing.checkout(tenant)
    # When the admin cancels now with a refund, and Stripe's webhooks about it are processed just
    # before the API writes its own record of it
    raced = before_the_next_account_write(tenant, billing.sync)
    reply = billing.call(
        "POST", "/v1/billing/subscription/cancel", {"when": "now", "refund": "prorated"}, tenant=tenant
    )
    billing.sync()
    # Then the API answered the cancellation and its refund; each was recorded and announced once
    assert raced
    assert reply.status == 200, reply
    assert reply.body["subscription"]["plan"] == "free"
    (refund,) = published(tenant, "billing.refund.issued.v1")
    assert refund["payload"]["refund_id"] == reply.body["refund"]["id"]
    assert types_published(tenant).count("billing.subscription.canceled.v1") == 1
