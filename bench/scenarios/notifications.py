"""Notifications' routes, driven as a client would: an owner signs up (the welcome email tells that
notifications knows the tenant), invites two people who accept (each a notice in the owner's inbox),
then reads the inbox, marks one notice read and the rest, reads and changes preferences, registers and
forgets a device, and reads the delivery log; then SES reports the welcome email hard-bounced (on the
default bus, as SES does), and the owner lists the suppressed address and lifts it."""

from __future__ import annotations

import json
import re
from functools import partial
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from bench.harness import Harness, wait_for
from bench.requests import Step
from infra.model import DEFAULT_BUS

OWNER = "bench-notifications@example.com"


def steps(h: Harness) -> list[Step]:
    s: dict[str, Any] = {}

    def owner() -> dict[str, str]:
        return {"Authorization": f"Bearer {s['token']}", "X-Tenant-Id": s["tenant"]}

    def emails_to(address: str) -> list[dict[str, Any]]:
        return [m for m in h.runtime.emails() if address in m["destinations"]]

    def sign_up() -> None:
        s["token"] = h.token(OWNER)
        signed_in = {"Authorization": f"Bearer {s['token']}"}
        s["tenant"] = h.expect(201, "POST", "/v1/tenants", {"name": "Bench Notifications"}, signed_in)["id"]
        wait_for(lambda: emails_to(OWNER), "the welcome email")
        for n in (1, 2):  # two newcomers: two notices in the owner's inbox
            invitee = f"bench-notifications-{n}@example.com"
            h.expect(201, "POST", "/v1/invitations", {"email": invitee, "role": "member"}, owner())
            (mail,) = wait_for(partial(emails_to, invitee), "the invitation email")
            link = re.search(r"https?://\S+token=\S+", mail["body"])
            assert link, mail["body"]
            token = parse_qs(urlsplit(link.group(0)).query)["token"][0]
            accepted = {"Authorization": f"Bearer {h.token(invitee)}"}
            h.expect(201, "POST", "/v1/invitations/accept", {"token": token}, accepted)
        wait_for(lambda: len(inbox()["items"]) == 2, "the owner's notices")

    def inbox() -> dict[str, Any]:
        return dict(h.expect(200, "GET", "/v1/notifications", None, owner()))

    def pick_one() -> None:
        s["notice"] = inbox()["items"][0]["id"]

    def read_one() -> None:
        h.expect(200, "POST", f"/v1/notifications/{s['notice']}/read", None, owner())

    def read_all() -> None:
        assert h.expect(200, "POST", "/v1/notifications/read-all", None, owner()) == {"marked": 1}

    def register() -> None:
        s["device"] = h.expect(201, "POST", "/v1/devices", {"token": "bench-device", "platform": "ios"}, owner())["id"]

    def suppressions() -> dict[str, Any]:
        return dict(h.expect(200, "GET", "/v1/notifications/suppressions", None, owner()))

    def bounce_the_welcome() -> None:
        from functions.notifications.adapters.ses import EVENT_TAG, TENANT_TAG

        log = h.expect(200, "GET", "/v1/notifications/deliveries", None, owner())["items"]
        (welcome,) = [d for d in log if d["template"] == "welcome" and d["channel"] == "email"]
        message_id = emails_to(OWNER)[0]["id"]
        tags = {TENANT_TAG: [s["tenant"]], EVENT_TAG: [welcome["event_id"]]}
        bounced = {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": OWNER}]}
        detail = {"eventType": "Bounce", "bounce": bounced, "mail": {"messageId": message_id, "tags": tags}}
        entry = {"Source": "aws.ses", "DetailType": "Email Bounced", "Detail": json.dumps(detail)}
        clients = h.runtime.clients
        assert clients is not None
        clients.events.put_events(Entries=[{**entry, "EventBusName": DEFAULT_BUS}])
        wait_for(lambda: suppressions()["items"], "the bounce's suppression")

    return [
        Step("GET /v1/notifications", "read", inbox, prepare=sign_up),
        Step("POST /v1/notifications/{notification_id}/read", "write", read_one, prepare=pick_one),
        Step("POST /v1/notifications/read-all", "write", read_all),
        Step("GET /v1/notification-preferences", "read",
             lambda: h.expect(200, "GET", "/v1/notification-preferences", None, owner())),
        Step("PUT /v1/notification-preferences", "write",
             lambda: h.expect(200, "PUT", "/v1/notification-preferences", {"product": {"push": False}}, owner())),
        Step("POST /v1/devices", "write", register),
        Step("DELETE /v1/devices/{device_id}", "write",
             lambda: h.expect(204, "DELETE", f"/v1/devices/{s['device']}", None, owner())),
        Step("GET /v1/notifications/deliveries", "read",
             lambda: h.expect(200, "GET", "/v1/notifications/deliveries", None, owner())),
        Step("GET /v1/notifications/suppressions", "read", suppressions, prepare=bounce_the_welcome),
        Step("DELETE /v1/notifications/suppressions/{address}", "write",
             lambda: h.expect(204, "DELETE", f"/v1/notifications/suppressions/{quote(OWNER)}", None, owner())),
    ]  # fmt: skip
