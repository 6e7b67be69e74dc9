"""The notifications API under moto, called with API Gateway's own event shape and the authorizer's
context: a member reaches only their own inbox, preferences and devices; the delivery log is the admins'."""

from __future__ import annotations

from typing import Any

import pytest

from functions.notifications.handlers import on_member_joined
from functions.notifications.handlers.api import app, handler
from keel.contracts.identity import MemberJoined
from keel.tenancy import Access
from tests.integration.notifications.support import (
    ADMIN,
    MEMBER,
    OTHER,
    OWNER,
    TENANT,
    deliver,
    notifications,
    tenant_with_members,
)
from tests.support.events import api_event, authorizer_context, response_json
from tests.support.pipeline import FakeLambdaContext

__all__ = ["notifications"]
NEWCOMER = "usr_01JDAAAAAAAAAAAAAAAAAAAAA9"


def call(
    method: str, path: str, body: Any = None, *, user: str = OWNER, role: str = "owner", tenant: str = TENANT, **kw: Any
) -> tuple[int, Any]:
    caller = authorizer_context(tenant_id=tenant, user_id=user, role=role)
    response = handler(api_event(method, path, body=body, authorizer=caller, **kw), FakeLambdaContext())  # type: ignore[arg-type]
    return int(response["statusCode"]), response_json(response)


@pytest.fixture
def joined(notifications: str) -> str:
    """The owner and the admin each have a notice: someone joined."""
    tenant_with_members()
    joined = MemberJoined(user_id=NEWCOMER, email="new@example.com", role="member", invitation_id="inv_1")
    deliver(on_member_joined.handler, joined, subscription="joined")
    return notifications


def test_every_route_names_its_least_access() -> None:
    assert app.access_rules == {
        ("GET", "/v1/notifications"): Access.MEMBER,
        ("POST", "/v1/notifications/<notification_id>/read"): Access.MEMBER,
        ("POST", "/v1/notifications/read-all"): Access.MEMBER,
        ("GET", "/v1/notifications/deliveries"): Access.ADMIN,
        ("GET", "/v1/notifications/suppressions"): Access.ADMIN,
        ("DELETE", "/v1/notifications/suppressions/<address>"): Access.ADMIN,
        ("GET", "/v1/notification-preferences"): Access.MEMBER,
        ("PUT", "/v1/notification-preferences"): Access.MEMBER,
        ("POST", "/v1/notifications/unsubscribe"): Access.PUBLIC,
        ("POST", "/v1/devices"): Access.MEMBER,
        ("DELETE", "/v1/devices/<device_id>"): Access.MEMBER,
    }


def test_the_admins_find_a_notice_when_someone_joins_and_the_member_does_not(joined: str) -> None:
    status, inbox = call("GET", "/v1/notifications", query={"unread": "true"})
    assert (status, [n["title"] for n in inbox["items"]]) == (200, ["new@example.com joined Acme"])
    assert inbox["items"][0]["body"] == "new@example.com joined Acme as member."
    assert [n["title"] for n in call("GET", "/v1/notifications", user=ADMIN, role="admin")[1]["items"]] == [
        "new@example.com joined Acme"
    ]
    assert call("GET", "/v1/notifications", user=MEMBER, role="member")[1]["items"] == []


def test_a_member_marks_their_own_notice_read_and_no_one_elses(joined: str) -> None:
    (notice,) = call("GET", "/v1/notifications")[1]["items"]
    # When the admin tries the owner's notice, then it does not exist for them
    assert call("POST", f"/v1/notifications/{notice['id']}/read", user=ADMIN, role="admin")[0] == 404
    assert call("GET", "/v1/notifications", query={"unread": "true"})[1]["items"] == [notice]
    # When the owner reads it, then it is read, and no longer among the unread
    status, read = call("POST", f"/v1/notifications/{notice['id']}/read")
    assert (status, read["id"], read["read_at"] is not None) == (200, notice["id"], True)
    assert call("GET", "/v1/notifications", query={"unread": "true"})[1]["items"] == []


def test_read_all_marks_every_unread_notice_of_the_caller_only(joined: str) -> None:
    assert call("POST", "/v1/notifications/read-all") == (200, {"marked": 1})
    assert call("POST", "/v1/notifications/read-all") == (200, {"marked": 0})
    assert len(call("GET", "/v1/notifications", query={"unread": "true"}, user=ADMIN, role="admin")[1]["items"]) == 1


def test_preferences_start_all_on_and_security_cannot_be_switched_off(notifications: str) -> None:
    tenant_with_members()
    status, preferences = call("GET", "/v1/notification-preferences", user=MEMBER, role="member")
    assert status == 200
    assert preferences["security"] == {"email": True, "in_app": True, "push": True}
    status, refused = call(
        "PUT", "/v1/notification-preferences", {"security": {"push": False}}, user=MEMBER, role="member"
    )
    assert (status, refused["error"]["code"]) == (422, "validation_error")
    assert [issue["loc"] for issue in refused["error"]["details"]] == [["body", "security", "push"]]
    status, changed = call(
        "PUT", "/v1/notification-preferences", {"product": {"in_app": False}}, user=MEMBER, role="member"
    )
    assert (status, changed["product"]) == (200, {"email": True, "in_app": False, "push": True})
    assert call("GET", "/v1/notification-preferences", user=MEMBER, role="member")[1] == changed
    assert call("GET", "/v1/notification-preferences")[1]["product"]["in_app"] is True


def test_a_member_registers_and_forgets_only_their_own_devices(notifications: str) -> None:
    status, device = call(
        "POST", "/v1/devices", {"token": "fcm-token-1", "platform": "android"}, user=MEMBER, role="member"
    )
    assert (status, device["platform"]) == (201, "android")
    # The same token again is the same device
    assert (
        call("POST", "/v1/devices", {"token": "fcm-token-1", "platform": "android"}, user=MEMBER, role="member")[1]
        == device
    )
    # Another member, or another tenant's owner, cannot remove it: it does not exist for them
    assert call("DELETE", f"/v1/devices/{device['id']}", user=ADMIN, role="admin")[0] == 404
    assert call("DELETE", f"/v1/devices/{device['id']}", user=MEMBER, tenant=OTHER)[0] == 404
    assert call("DELETE", f"/v1/devices/{device['id']}", user=MEMBER, role="member")[0] == 204
    assert call("DELETE", f"/v1/devices/{device['id']}", user=MEMBER, role="member")[0] == 404


@pytest.mark.parametrize(
    "body",
    [{"token": "t", "platform": "fax"}, {"token": "", "platform": "ios"}, {"token": "a b", "platform": "ios"},
     {"token": "t", "platform": "ios", "user_id": OWNER}],
    ids=["an unknown platform", "an empty token", "a token with a space", "a smuggled user"],
)  # fmt: skip
def test_a_body_that_is_not_a_device_is_refused(notifications: str, body: dict[str, Any]) -> None:
    status, answer = call("POST", "/v1/devices", body)
    assert (status, answer["error"]["code"]) == (422, "validation_error")


def test_the_delivery_log_is_for_admins(joined: str) -> None:
    status, log = call("GET", "/v1/notifications/deliveries", role="admin", user=ADMIN)
    assert status == 200
    assert sorted((d["channel"], d["user_id"], d["status"]) for d in log["items"]) == [
        ("in_app", OWNER, "sent"),
        ("in_app", ADMIN, "sent"),
    ]
    assert call("GET", "/v1/notifications/deliveries", user=MEMBER, role="member")[0] == 403
    assert call("GET", "/v1/notifications/deliveries", role="admin", tenant=OTHER)[1]["items"] == []


def test_a_preference_is_true_or_false_not_a_number(notifications: str) -> None:
    tenant_with_members()
    status, answer = call("PUT", "/v1/notification-preferences", {"billing": {"push": 0}})
    assert (status, answer["error"]["code"]) == (422, "validation_error")
