"""Notifications' consumers under moto, fed as an EventBridge rule feeds their queues: who gets which
message, preferences and the unsubscribe link, throttling, permanent failures, the DLQ and redrive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from functions.notifications import wiring
from functions.notifications.domain.messages import Category, Channel
from functions.notifications.domain.unsubscribe import UnsubscribeLinks, Unsubscription
from functions.notifications.handlers import api, on_payment_failed, on_subscription_started, on_tenant_suspended
from keel import aws
from keel.contracts.billing import (
    PaymentFailed,
    RefundIssued,
    SubscriptionCanceled,
    SubscriptionStarted,
    TrialEnding,
)
from keel.contracts.identity import TenantSuspended
from keel.store import OUTBOX_PREFIX
from tests.integration.notifications.support import (
    ADMIN,
    NOW,
    OWNER,
    TENANT,
    body_of,
    deliver,
    emails,
    emails_to,
    notifications,
    tenant_with_members,
)
from tests.support.events import api_event, authorizer_context, response_json
from tests.support.moto import all_items
from tests.support.pipeline import FakeLambdaContext, sqs_event

__all__ = ["notifications"]

FAILED = PaymentFailed(
    invoice_id="in_1",
    number="KEEL-0001",
    amount_due=2900,
    currency="usd",
    attempt_count=1,
    next_retry_at=NOW + timedelta(days=3),
    hosted_invoice_url="https://invoice.stripe.com/i/acct_1/in_1",
    reason="declined",
    failed_at=NOW,
)
REFUND = RefundIssued(
    refund_id="re_1", invoice_id="in_1", amount=1450, currency="eur", reason="requested_by_customer", issued_at=NOW
)
CANCELED = SubscriptionCanceled(plan="pro", interval="monthly", canceled_at=NOW, reason="requested")
SUSPENDED = TenantSuspended(tenant_id=TENANT, operator_id="usr_op", reason="unpaid <b>invoices</b>")


def call(method: str, path: str, body: Any = None, *, user: str = OWNER, role: str = "owner", **kw: Any) -> Any:
    caller = authorizer_context(tenant_id=TENANT, user_id=user, role=role)
    response = api.handler(api_event(method, path, body=body, authorizer=caller, **kw), FakeLambdaContext())  # type: ignore[arg-type]
    return int(response["statusCode"]), response_json(response)


def unsubscribe_token(mail: dict[str, Any]) -> str:
    link = mail["headers"]["List-Unsubscribe"].strip("<>")
    return parse_qs(urlsplit(link).query)["token"][0]


def one_click(token: str) -> tuple[int, Any]:
    """What a mail client does with ``List-Unsubscribe-Post`` (RFC 8058): no credential, a form body."""
    event = api_event(
        "POST", "/v1/notifications/unsubscribe", body="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"}, query={"token": token}, authorizer={},
    )  # fmt: skip
    response = api.handler(event, FakeLambdaContext())  # type: ignore[arg-type]
    return int(response["statusCode"]), response_json(response)


@pytest.fixture
def members(notifications: str) -> str:
    tenant_with_members(name="<script>alert(1)</script> Acme")
    return notifications


def test_a_failed_payment_emails_owners_and_admins_with_the_link_to_pay_and_one_click_unsubscribe(members: str) -> None:
    # When a payment fails
    result, _ = deliver(on_payment_failed.handler, FAILED, subscription="payment-failed")
    # Then its owner and admin get one email each, the plain member none
    assert body_of(result) == []
    assert sorted(m["to"] for m in emails()) == ["admin@example.com", "owner@example.com"]
    (mail,) = emails_to("owner@example.com")
    # With the link to pay, the tenant's name escaped in HTML, and RFC 8058's one-click headers
    assert 'href="https://invoice.stripe.com/i/acct_1/in_1"' in mail["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Acme" in mail["html"]
    assert "<script>" not in mail["html"]
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["headers"]["List-Unsubscribe"].startswith(
        "<https://api.example.com/v1/notifications/unsubscribe?token="
    )


def test_the_unsubscribe_link_switches_off_exactly_its_category_without_signing_in(members: str) -> None:
    deliver(on_payment_failed.handler, FAILED, subscription="payment-failed")
    (mail,) = emails_to("owner@example.com")
    # When the owner's mail client posts the one-click unsubscribe
    assert one_click(unsubscribe_token(mail)) == (200, {"category": "billing", "email": False})
    # Then billing email is off for the owner alone, and every other choice is as it was
    preferences = wiring.members().preferences(TENANT, OWNER)
    assert preferences.choices[Category.BILLING] == {Channel.EMAIL: False, Channel.IN_APP: True, Channel.PUSH: True}
    assert all(all(c.values()) for cat, c in preferences.choices.items() if cat is not Category.BILLING)
    # And the next billing email goes to the admin only, while security mail still reaches the owner
    deliver(on_payment_failed.handler, FAILED, subscription="payment-failed")
    deliver(on_tenant_suspended.handler, SUSPENDED, subscription="tenant-suspended")
    assert [m["subject"] for m in emails_to("owner@example.com")][1:] == [
        "<script>alert(1)</script> Acme was suspended"
    ]
    assert len(emails_to("admin@example.com")) == 2


def test_a_forged_or_expired_unsubscribe_link_is_refused(members: str) -> None:
    deliver(on_payment_failed.handler, FAILED, subscription="payment-failed")
    token = unsubscribe_token(emails_to("owner@example.com")[0])
    body, mac = token.split(".")
    key = wiring._secret(wiring.config().unsubscribe_key_arn, wiring.config().unsubscribe_key).encode()
    expired = UnsubscribeLinks(key, "{token}").token(
        Unsubscription(TENANT, OWNER, Category.BILLING), at=NOW - timedelta(days=61)
    )
    for bad in (f"{body}.{mac[:-2]}AA", f"{body[:-2]}xx.{mac}", "not-a-token", expired):
        status, answer = one_click(bad)
        assert (status, answer["error"]["code"]) == (400, "bad_request")
    assert all(all(c.values()) for c in wiring.members().preferences(TENANT, OWNER).choices.values())


def test_security_mail_carries_no_unsubscribe_link_and_cannot_be_switched_off(members: str) -> None:
    # When the owner tries to switch security email off, then it is a 422 naming it, and nothing changes
    wanted = {"security": {"email": False}, "product": {"email": False}}
    status, answer = call("PUT", "/v1/notification-preferences", wanted)
    assert (status, answer["error"]["code"]) == (422, "validation_error")
    assert [issue["loc"] for issue in answer["error"]["details"]] == [["body", "security", "email"]]
    assert all(all(c.values()) for c in wiring.members().preferences(TENANT, OWNER).choices.values())
    # And the suspension email reaches every owner, with no unsubscribe link
    deliver(on_tenant_suspended.handler, SUSPENDED, subscription="tenant-suspended")
    (mail,) = emails_to("owner@example.com")
    assert "List-Unsubscribe" not in mail["headers"]
    assert "unpaid &lt;b&gt;invoices&lt;/b&gt;" in mail["html"]


def test_preferences_are_respected(members: str) -> None:
    # Given the admin switched billing email off
    status, preferences = call(
        "PUT", "/v1/notification-preferences", {"billing": {"email": False}}, user=ADMIN, role="admin"
    )
    assert (status, preferences["billing"]["email"], preferences["product"]["email"]) == (200, False, True)
    # When a payment fails, then only the owner is emailed
    deliver(on_payment_failed.handler, FAILED, subscription="payment-failed")
    assert [m["to"] for m in emails()] == ["owner@example.com"]


class _Throttle:
    """SES answering ``TooManyRequestsException`` (or ``code``) the first ``times`` sends, then accepting."""

    def __init__(self, times: int, code: str = "TooManyRequestsException") -> None:
        self.left, self.code = times, code

    def __call__(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if self.left == 0:
            return None
        self.left -= 1
        error = {"Error": {"Code": self.code, "Message": "slow down"}, "ResponseMetadata": {"HTTPStatusCode": 429}}
        return AWSResponse("https://email.us-east-1.amazonaws.com", 429, {}, None), error


@pytest.fixture
def ses_answers(members: str) -> Iterator[Any]:
    events = aws.client("sesv2").meta.events
    installed: list[Any] = []

    def install(answer: Any) -> None:
        events.register("before-call.sesv2.SendEmail", answer)
        installed.append(answer)

    yield install
    for answer in installed:
        events.unregister("before-call.sesv2.SendEmail", answer)


def test_ses_throttled_twice_then_accepting_sends_one_email(ses_answers: Any) -> None:
    ses_answers(_Throttle(2))
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="keel-test-notifications-tenant-suspended")["QueueUrl"]
    # When the first two attempts are throttled
    first, _ = deliver(on_tenant_suspended.handler, SUSPENDED, subscription="tenant-suspended")
    # Then the event is reported failed, and the queue holds it back (its visibility set), never a sleep
    assert len(body_of(first)) == 1
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    # And when it comes back, twice, the second try goes through: one email, its record sent
    event = sqs_event(
        [{**_last_message(url)}],
        queue_arn="arn:aws:sqs:us-east-1:123456789012:keel-test-notifications-tenant-suspended",
    )
    for _ in range(2):
        on_tenant_suspended.handler(event, FakeLambdaContext())
    assert len(emails_to("owner@example.com")) == 1
    (record,) = [i for i in all_items(members_table()) if i["sk"].startswith("DELIVERY#")]
    assert (record["status"], record["attempts"]) == ("sent", 3)


def _last_message(url: str) -> dict[str, Any]:
    from infra.local import moto_state

    (held,) = moto_state.queue_messages(url.rsplit("/", 1)[-1], "us-east-1")
    return {
        "MessageId": held["messageId"],
        "ReceiptHandle": "again",
        "Body": held["body"],
        "Attributes": {},
        "MD5OfBody": "",
    }


def test_a_hard_bounce_is_recorded_and_published_never_retried(ses_answers: Any) -> None:
    ses_answers(_Throttle(1, code="MessageRejected"))
    result, event_id = deliver(on_tenant_suspended.handler, SUSPENDED, subscription="tenant-suspended")
    # Then the event succeeded (nothing to retry), the delivery is failed, and the fact is in the outbox
    assert body_of(result) == []
    (record,) = [i for i in all_items(members_table()) if i["sk"].startswith("DELIVERY#")]
    assert (record["status"], record["event_id"]) == ("failed", event_id)
    (published,) = [json.loads(i["event"]) for i in all_items(members_table()) if i["sk"].startswith(OUTBOX_PREFIX)]
    assert published["type"] == "notifications.delivery.failed.v1"
    assert (published["payload"]["channel"], published["payload"]["user_id"]) == ("email", OWNER)
    # And the admin's delivery log says so
    status, log = call("GET", "/v1/notifications/deliveries", query={"status": "failed"}, role="admin", user=ADMIN)
    assert (status, [d["template"] for d in log["items"]]) == (200, ["tenant_suspended"])
    assert emails() == []


def members_table() -> str:
    return wiring.config().table


def test_a_consumer_failing_five_times_lands_in_the_dlq_and_a_redrive_delivers_once(notifications: str) -> None:
    from tests.support.pipeline import redrive

    sqs = boto3.client("sqs")
    queue = "keel-test-notifications-welcome"
    dlq_url = sqs.create_queue(QueueName=f"{queue}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={
        "VisibilityTimeout": "0", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
    })  # fmt: skip
    started = SubscriptionStarted(
        plan="free", interval=None, amount=0, currency="usd", started_at=NOW, current_period_end=None
    )
    # Given the welcome arrives before notifications knows the tenant, five times over
    result, _ = deliver(on_subscription_started.handler, started, subscription="welcome")
    assert len(body_of(result)) == 1
    for _ in range(4):
        (message,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
        result = on_subscription_started.handler(sqs_event([message]), FakeLambdaContext())
        assert len(body_of(result)) == 1
    # Then it is in the DLQ after its fifth receive
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    # When the tenant becomes known and the DLQ is redriven
    tenant_with_members()
    assert redrive(queue) == 1
    (message,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    on_subscription_started.handler(sqs_event([message]), FakeLambdaContext())
    on_subscription_started.handler(sqs_event([message]), FakeLambdaContext())  # and delivered twice for good measure
    # Then the owner is welcomed once
    assert [m["subject"] for m in emails()] == ["Welcome to Keel, Acme"]


@pytest.mark.parametrize(
    ("subscription", "payload", "subject"),
    [
        ("refund-issued", REFUND, "Refund issued to Acme"),
        ("trial-ending", TrialEnding(plan="pro", trial_end=NOW), "Your pro trial ends on 01 December 2026"),
        ("subscription-canceled", CANCELED, "Your pro plan was canceled"),
    ],
    ids=["refund issued", "trial ending", "subscription canceled"],
)  # fmt: skip
def test_each_billing_fact_emails_the_owners_and_admins(
    notifications: str, subscription: str, payload: Any, subject: str
) -> None:
    import importlib

    tenant_with_members()
    module = importlib.import_module(f"functions.notifications.handlers.on_{subscription.replace('-', '_')}")
    result, _ = deliver(module.handler, payload, subscription=subscription)
    assert body_of(result) == []
    assert sorted((m["to"], m["subject"]) for m in emails()) == [
        ("admin@example.com", subject),
        ("owner@example.com", subject),
    ]
