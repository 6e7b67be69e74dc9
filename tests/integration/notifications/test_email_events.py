"""SES's asynchronous verdicts under moto: a hard bounce or a complaint, delivered as SES puts it on
EventBridge and the rule puts it on the queue, fails its email's delivery once and suppresses the
address; a transient bounce changes nothing."""

from __future__ import annotations

import json
from typing import Any

from functions.notifications import wiring
from functions.notifications.handlers import on_tenant_suspended
from keel.store import OUTBOX_PREFIX
from tests.integration.notifications.support import (
    COMPLAINT,
    OWNER,
    SUSPENDED,
    TENANT,
    body_of,
    bounce,
    deliver,
    emails,
    from_ses,
    notifications,
    sent_suspension,
    sent_tags,
    ses_detail,
)
from tests.support.moto import all_items

__all__ = ["notifications", "sent_tags"]


def delivery_records() -> list[dict[str, Any]]:
    return [i for i in all_items(wiring.config().table) if str(i["sk"]).startswith("DELIVERY#")]


def failures_published() -> list[dict[str, Any]]:
    outbox = [json.loads(i["event"]) for i in all_items(wiring.config().table) if i["sk"].startswith(OUTBOX_PREFIX)]
    return [e for e in outbox if e["type"] == "notifications.delivery.failed.v1"]


def test_a_hard_bounce_fails_the_delivery_and_publishes_once_when_delivered_twice(sent_tags: Any) -> None:
    message_id, tags = sent_suspension(sent_tags)
    # When SES reports a permanent bounce of it, and EventBridge delivers that twice
    results = from_ses("Email Bounced", ses_detail("Bounce", message_id, tags, bounce("Permanent")), times=2)
    # Then both succeed, the delivery is failed as bounced, and one delivery.failed is published
    assert [body_of(r) for r in results] == [[], []]
    (record,) = delivery_records()
    assert (record["status"], record["reason"]) == ("failed", "bounced")
    (published,) = failures_published()
    assert (published["tenant_id"], published["payload"]["reason"], published["payload"]["user_id"]) == (
        TENANT, "bounced", OWNER,
    )  # fmt: skip


def test_a_complaint_fails_the_delivery_and_publishes_once(sent_tags: Any) -> None:
    message_id, tags = sent_suspension(sent_tags)
    results = from_ses("Email Complaint Received", ses_detail("Complaint", message_id, tags, COMPLAINT), times=2)
    assert [body_of(r) for r in results] == [[], []]
    (record,) = delivery_records()
    assert (record["status"], record["reason"]) == ("failed", "complained")
    assert [e["payload"]["reason"] for e in failures_published()] == ["complained"]


def test_a_transient_bounce_changes_nothing(sent_tags: Any) -> None:
    message_id, tags = sent_suspension(sent_tags)
    (result,) = from_ses("Email Bounced", ses_detail("Bounce", message_id, tags, bounce("Transient")))
    assert body_of(result) == []
    (record,) = delivery_records()
    assert record["status"] == "sent"
    assert failures_published() == []


def test_a_later_email_to_a_bounced_address_is_not_sent_and_is_recorded_suppressed(sent_tags: Any) -> None:
    message_id, tags = sent_suspension(sent_tags)
    from_ses("Email Bounced", ses_detail("Bounce", message_id, tags, bounce("Permanent")))
    # When the tenant is suspended again (another event to the same owner)
    deliver(on_tenant_suspended.handler, SUSPENDED, subscription="tenant-suspended")
    # Then no second email goes out, and the second delivery is failed as suppressed
    assert len(emails()) == 1
    assert sorted(r["reason"] for r in delivery_records()) == ["bounced", "suppressed"]


def test_a_bounce_of_an_email_another_sender_sent_changes_nothing(sent_tags: Any) -> None:
    message_id, _ = sent_suspension(sent_tags)
    (result,) = from_ses("Email Bounced", ses_detail("Bounce", message_id, {}, bounce("Permanent")))
    assert body_of(result) == []
    assert [r["status"] for r in delivery_records()] == ["sent"]


def test_a_bounce_before_its_delivery_is_recorded_is_retried_not_dropped(sent_tags: Any) -> None:
    message_id, tags = sent_suspension(sent_tags)
    # Given SES's verdict on an email of ours whose send is not recorded yet (another message id)
    (early,) = from_ses("Email Bounced", ses_detail("Bounce", f"{message_id}-not-yet", tags, bounce("Permanent")))
    # Then it fails, to come back through the queue, and nothing is failed or published meanwhile
    assert len(body_of(early)) == 1
    assert [r["status"] for r in delivery_records()] == ["sent"]
    assert failures_published() == []


def test_a_message_not_of_ses_shape_fails_and_is_retried(notifications: str) -> None:
    (result,) = from_ses("Email Bounced", {"eventType": "Bounce", "mail": {}})
    assert len(body_of(result)) == 1
