"""The tenant's suppressed addresses over the API, under moto: SES's verdicts suppress them (through the
email-events consumer, as in production), a tenant's admins list them and lift a hard bounce's, and a
lifted address gets email again (SES's own account-level list released first); a complaint stays, and
no other tenant sees or lifts either."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from functions.notifications import wiring
from functions.notifications.handlers import on_tenant_suspended
from functions.notifications.handlers.api import handler
from keel import aws
from keel.store import OUTBOX_PREFIX
from tests.integration.notifications.support import (
    ADMIN,
    COMPLAINT,
    MEMBER,
    OTHER,
    OWNER_EMAIL,
    SUSPENDED,
    TENANT,
    bounce,
    deliver,
    emails_to,
    from_ses,
    notifications,
    sent_suspension,
    sent_tags,
    ses_detail,
)
from tests.support.events import api_event, authorizer_context, response_json
from tests.support.moto import all_items, dynamodb_requests
from tests.support.pipeline import FakeLambdaContext

__all__ = ["notifications", "sent_tags"]

PATH = "/v1/notifications/suppressions"
OWNER_PATH = f"{PATH}/owner%40example.com"


def call(method: str, path: str, *, user: str = ADMIN, role: str = "admin", tenant: str = TENANT, **kw: Any) -> Any:
    caller = authorizer_context(tenant_id=tenant, user_id=user, role=role)
    response = handler(api_event(method, path, authorizer=caller, **kw), FakeLambdaContext())  # type: ignore[arg-type]
    return int(response["statusCode"]), response_json(response)


def bounced(sent_tags: list[dict[str, str]], *addresses: str) -> str:
    """The owner's suspension email hard-bounced for ``addresses`` (the owner by default): its delivery id."""
    message_id, tags = sent_suspension(sent_tags)
    from_ses("Email Bounced", ses_detail("Bounce", message_id, tags, bounce("Permanent", *addresses)))
    (delivery,) = [i for i in all_items(wiring.config().table) if str(i["sk"]).startswith("DELIVERY#")]
    return str(delivery["sk"]).removeprefix("DELIVERY#")


def lifted_events() -> list[dict[str, Any]]:
    outbox = [json.loads(i["event"]) for i in all_items(wiring.config().table) if i["sk"].startswith(OUTBOX_PREFIX)]
    return [e for e in outbox if e["type"] == "notifications.suppression.lifted.v1"]


def test_the_admins_page_through_the_suppressed_addresses_with_a_cursor(sent_tags: Any) -> None:
    # Given one bounce naming three addresses
    delivery_id = bounced(sent_tags, "Owner@Example.com", "b@example.com", "c@example.com")
    # When an admin reads them two at a time
    status, first = call("GET", PATH, query={"limit": "2"})
    _, second = call("GET", PATH, query={"limit": "2", "cursor": first["cursor"]})
    # Then the pages hold each once, in address order, with why, when and which delivery
    assert status == 200
    assert [s["address"] for s in first["items"] + second["items"]] == [
        "b@example.com", "c@example.com", "owner@example.com",
    ]  # fmt: skip
    assert second["cursor"] is None
    assert {(s["reason"], s["delivery_id"]) for s in first["items"]} == {("bounced", delivery_id)}
    assert all(s["suppressed_at"].endswith("Z") for s in first["items"])


def test_a_lifted_bounce_gets_email_again_and_leaves_who_lifted_it(sent_tags: Any) -> None:
    delivery_id = bounced(sent_tags)
    # When an admin lifts the owner's address
    assert call("DELETE", OWNER_PATH) == (204, None)
    # Then it is no longer listed, the next email to it goes out, and the lift is published with who and when
    assert call("GET", PATH)[1]["items"] == []
    deliver(on_tenant_suspended.handler, SUSPENDED, subscription="tenant-suspended")
    assert len(emails_to(OWNER_EMAIL)) == 2
    (event,) = lifted_events()
    assert event["tenant_id"] == TENANT
    assert {k: v for k, v in event["payload"].items() if k not in ("suppressed_at", "lifted_at")} == {
        "address": OWNER_EMAIL, "reason": "bounced", "delivery_id": delivery_id, "lifted_by": ADMIN,
    }  # fmt: skip


def test_a_complaint_cannot_be_lifted_by_the_tenant(sent_tags: Any) -> None:
    message_id, tags = sent_suspension(sent_tags)
    from_ses("Email Complaint Received", ses_detail("Complaint", message_id, tags, COMPLAINT))
    asked = released()
    # When even an owner tries to lift it
    status, refused = call("DELETE", OWNER_PATH, user="usr_owner", role="owner")
    # Then it is refused, stays listed, nothing is published, and SES is not asked to release it
    assert (status, refused["error"]["code"]) == (403, "complaint_not_liftable")
    assert [s["reason"] for s in call("GET", PATH)[1]["items"]] == ["complained"]
    assert lifted_events() == []
    assert asked == []


def test_another_tenants_admin_neither_sees_nor_lifts_a_suppression(sent_tags: Any) -> None:
    bounced(sent_tags)
    assert call("GET", PATH, tenant=OTHER) == (200, {"items": [], "cursor": None})
    status, missing = call("DELETE", OWNER_PATH, tenant=OTHER)
    assert (status, missing["error"]["code"]) == (404, "not_found")
    assert [s["address"] for s in call("GET", PATH)[1]["items"]] == [OWNER_EMAIL]


def test_an_address_not_suppressed_is_not_found(notifications: str) -> None:
    status, missing = call("DELETE", f"{PATH}/nobody%40example.com")
    assert (status, missing["error"]["code"]) == (404, "not_found")


@pytest.mark.parametrize(("method", "path"), [("GET", PATH), ("DELETE", OWNER_PATH)])
def test_a_member_may_not_see_or_lift_suppressions(notifications: str, method: str, path: str) -> None:
    status, refused = call(method, path, user=MEMBER, role="member")
    assert (status, refused["error"]["code"]) == (403, "forbidden")


@pytest.mark.parametrize("address", ["not-an-address", "a%40b", f"{'a' * 250}%40example.com", "%C3%A9%40example.com"])
def test_an_address_that_is_not_one_is_a_422(notifications: str, address: str) -> None:
    status, refused = call("DELETE", f"{PATH}/{address}")
    assert (status, refused["error"]["code"]) == (422, "validation_error")
    assert [issue["loc"] for issue in refused["error"]["details"]] == [["path", "address"]]


def test_listing_is_one_query_and_lifting_one_read_and_one_transaction(sent_tags: Any) -> None:
    bounced(sent_tags)
    with dynamodb_requests(TENANT) as listing:
        assert call("GET", PATH)[0] == 200
    with dynamodb_requests(TENANT) as lifting:
        assert call("DELETE", OWNER_PATH)[0] == 204
    assert (listing, lifting) == (Counter({"Query": 1}), Counter({"GetItem": 1, "TransactWriteItems": 1}))


def released(answer: tuple[int, dict[str, Any]] | None = None) -> list[str]:
    """The addresses SES is asked to take off its account-level list from now on; with ``answer``
    (an HTTP status and SES's error), SES answers that instead of moto."""
    asked: list[str] = []

    def asking(params: dict[str, Any], **_: Any) -> None:
        asked.append(params["EmailAddress"])

    def answered(**_: Any) -> Any:
        return None if answer is None else (AWSResponse("https://email.amazonaws.com", answer[0], {}, None), answer[1])

    events = aws.client("sesv2").meta.events
    events.register("provide-client-params.sesv2.DeleteSuppressedDestination", asking)
    events.register("before-call.sesv2.DeleteSuppressedDestination", answered)
    return asked


def test_a_lift_takes_the_address_off_sess_own_list_first(sent_tags: Any) -> None:
    bounced(sent_tags)
    asked = released()
    # When an admin lifts it, SES is asked to release it too (else SES would drop the next email, as a bounce)
    assert call("DELETE", OWNER_PATH) == (204, None)
    assert asked == [OWNER_EMAIL]


def test_ses_throttling_a_release_is_a_429_and_lifts_nothing(sent_tags: Any) -> None:
    bounced(sent_tags)
    released((429, {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}))
    status, refused = call("DELETE", OWNER_PATH)
    assert (status, refused["error"]["code"]) == (429, "rate_limited")
    assert [s["address"] for s in call("GET", PATH)[1]["items"]] == [OWNER_EMAIL]
    assert lifted_events() == []
