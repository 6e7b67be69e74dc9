"""Notifications on ``keel dev``, black box over HTTP: the sign-up saga ends in one welcome email (also
when every message is delivered twice), an invitation email's link lets the invitee in and the admins
hear of it in-app and by push, and a stale push token is dropped."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest

from tests.e2e.conftest import DevServer, Owner

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 30


def emails_to(server: DevServer, address: str) -> list[dict[str, Any]]:
    status, _, body = server.get("/_local/emails")
    assert status == 200
    return [m for m in json.loads(body)["emails"] if address in m["destinations"]]


def eventually(probe: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {WAIT_SECONDS} s")


def welcome_of(server: DevServer, owner: Owner) -> list[dict[str, Any]]:
    return [m for m in emails_to(server, owner.email) if m["subject"].startswith("Welcome")]


def settled(server: DevServer, owner: Owner) -> None:
    """Wait until every queue's consumers have finished with what this owner's sign-up caused."""
    eventually(lambda: welcome_of(server, owner), "the welcome email")
    time.sleep(1.5)  # room for a duplicate to arrive, were one coming


@contextmanager
def every_message_twice(server: DevServer) -> Iterator[None]:
    assert json.loads(server.call("POST", "/_local/duplicates", {"enabled": True})[2]) == {"enabled": True}
    try:
        yield
    finally:
        server.call("POST", "/_local/duplicates", {"enabled": False})


def test_the_sign_up_saga_ends_in_exactly_one_welcome_email_to_the_owner(dev_server: DevServer) -> None:
    # When someone signs up a tenant named with markup
    owner = dev_server.sign_up(name="<script>alert(1)</script> Acme")
    # Then identity -> billing's free tier -> notifications sends the owner one welcome email
    settled(dev_server, owner)
    (welcome,) = welcome_of(dev_server, owner)
    # And the tenant's name arrives escaped in its HTML
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Acme" in welcome["html"]
    assert "<script>" not in welcome["html"]


def test_the_saga_sends_one_welcome_email_when_every_message_is_delivered_twice(dev_server: DevServer) -> None:
    with every_message_twice(dev_server):
        owner = dev_server.sign_up(name="Twice")
        settled(dev_server, owner)
    assert len(welcome_of(dev_server, owner)) == 1


def test_the_emails_page_is_a_mail_catcher_a_person_can_read(dev_server: DevServer) -> None:
    owner = dev_server.sign_up(name="Readable")
    (welcome,) = eventually(lambda: welcome_of(dev_server, owner), "the welcome email")
    # When a browser asks for the list, then it is a page linking to each email
    status, headers, page = dev_server.call("GET", "/_local/emails", headers={"Accept": "text/html"})
    assert (status, headers["Content-Type"].split(";")[0]) == (200, "text/html")
    assert f"/_local/emails/{welcome['id']}" in page.decode()
    # And each email is a page with its HTML in a sandboxed frame where no script runs
    status, _, one = dev_server.call("GET", f"/_local/emails/{welcome['id']}", headers={"Accept": "text/html"})
    assert status == 200
    assert "sandbox='allow-popups allow-popups-to-escape-sandbox'" in one.decode()
    assert "Welcome to Keel" in one.decode()


def _accept_token(invitation: dict[str, Any]) -> str:
    link = re.search(r"https?://\S+token=\S+", invitation["body"])
    assert link, invitation["body"]
    return parse_qs(urlsplit(link.group(0)).query)["token"][0]


def test_an_invitation_email_lets_the_invitee_in_and_the_admins_hear_of_it(dev_server: DevServer) -> None:
    # Given an owner with a phone registered for push, and a stale token too
    owner = dev_server.sign_up(name="Invites")
    settled(dev_server, owner)
    fresh = f"fresh-{uuid4().hex}"
    phone = dev_server.call("POST", "/v1/devices", {"token": fresh, "platform": "ios"}, owner.headers)
    stale = dev_server.call(
        "POST", "/v1/devices", {"token": f"stale-{uuid4().hex}", "platform": "android"}, owner.headers
    )
    assert (phone[0], stale[0]) == (201, 201)
    # When the owner invites someone
    invitee = f"invitee-{uuid4().hex[:10]}@example.com"
    status, _, _ = dev_server.call("POST", "/v1/invitations", {"email": invitee, "role": "member"}, owner.headers)
    assert status == 201
    # Then the invitee gets an email whose link carries the token that accepts it
    (invitation,) = eventually(lambda: emails_to(dev_server, invitee), "the invitation email")
    token = _accept_token(invitation)
    signed_in = {"Authorization": f"Bearer {dev_server.token(invitee)}"}
    status, _, accepted = dev_server.call("POST", "/v1/invitations/accept", {"token": token}, signed_in)
    assert status == 201, accepted
    # And the owner finds an in-app notice that they joined
    inbox = eventually(
        lambda: json.loads(dev_server.call("GET", "/v1/notifications?unread=true", headers=owner.headers)[2])["items"],
        "the in-app notice",
    )
    assert [n["title"] for n in inbox] == [f"{invitee} joined Invites"]
    # And a push reached the fresh device, while the stale token was removed, not retried
    pushes = eventually(
        lambda: [m for m in json.loads(dev_server.get("/_local/push")[2])["messages"] if m["token"] == fresh],
        "the push",
    )
    assert pushes[0]["notification"]["title"] == f"{invitee} joined Invites"
    # (devices are pushed to in no set order: wait for the stale one's attempt in the delivery log)
    eventually(
        lambda: [
            d
            for d in json.loads(
                dev_server.call("GET", "/v1/notifications/deliveries?status=failed", headers=owner.headers)[2]
            )["items"]
            if d["channel"] == "push" and "token removed" in (d["reason"] or "")
        ],
        "the stale token's push attempt",
    )
    stale_id = json.loads(stale[2])["id"]
    assert dev_server.call("DELETE", f"/v1/devices/{stale_id}", headers=owner.headers)[0] == 404
