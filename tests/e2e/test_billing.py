"""Billing end to end on ``keel dev``, black box: a tenant signs up (free plan), checks out Pro on the
local Stripe's page, identity's seat limit rises, a plan change is previewed, and cancelling now
refunds the unused time, announced as ``billing.refund.issued.v1``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from infra.topology import LOCAL_STAGE, TOPOLOGY
from tests.e2e.conftest import REPO, DevServer, Owner

pytestmark = pytest.mark.e2e


def _json(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, Any]:
    status, _, body = answer
    return status, json.loads(body) if body else None


def eventually(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.2)


def pay(url: str) -> int:
    """Open the checkout page as a browser would and press Pay with the test card."""
    with urllib.request.urlopen(url, timeout=10) as page:
        assert b"Pay" in page.read()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    form = urllib.parse.urlencode({"card": "4242424242424242"}).encode()
    try:
        urllib.request.build_opener(NoRedirect).open(urllib.request.Request(url, data=form, method="POST"), timeout=10)
    except urllib.error.HTTPError as redirect:
        return redirect.code
    return 200


def keel(dev_server: DevServer, *args: str) -> str:
    command = [sys.executable, "-m", "infra.local.cli", *args, "--state-dir", str(dev_server.state_dir)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def outbox(dev_server: DevServer, owner: Owner, event_type: str) -> list[dict[str, Any]]:
    """The tenant's events of one type in billing's outbox, read from the dev server's moto."""
    state = json.loads((dev_server.state_dir / "dev.json").read_text())
    ddb = boto3.client("dynamodb", endpoint_url=state["moto_endpoint"], region_name=state["region"])
    items = ddb.query(
        TableName=TOPOLOGY.for_stage(LOCAL_STAGE).context("billing").table_name,  # keel dev's stage
        KeyConditionExpression="pk = :pk AND begins_with(sk, :outbox)",
        ExpressionAttributeValues={":pk": {"S": f"TENANT#{owner.tenant_id}"}, ":outbox": {"S": "OUTBOX#"}},
    )["Items"]
    events = [json.loads(i["event"]["S"]) for i in items]
    return [e for e in events if e["type"] == event_type]


def test_sign_up_checkout_seat_limit_preview_and_cancel_with_a_prorated_refund(dev_server: DevServer) -> None:
    # Given a new tenant: on the free plan, with the free plan's seats
    owner = dev_server.sign_up("Billing Co")
    headers = owner.headers
    assert _json(dev_server.call("GET", "/v1/billing/subscription", headers=headers))[1]["plan"] == "free"
    eventually(lambda: _json(dev_server.call("GET", "/v1/tenant", headers=headers))[1]["seat_limit"] == 3, "3 seats")

    # When its owner checks out Pro and pays on the local Stripe's checkout page
    status, checkout = _json(dev_server.call("POST", "/v1/billing/checkout", {"plan": "pro"}, headers))
    assert status == 201, checkout
    assert pay(checkout["url"]) == 303

    # Then the subscription shows Pro, and identity's seat limit rose with it
    def subscription() -> dict[str, Any]:
        return dict(_json(dev_server.call("GET", "/v1/billing/subscription", headers=headers))[1])

    eventually(lambda: subscription()["plan"] == "pro", "the subscription showing pro")
    assert subscription()["entitlements"]["seat_limit"] == 10
    tenant = eventually(
        lambda: (t := _json(dev_server.call("GET", "/v1/tenant", headers=headers))[1])["seat_limit"] == 10 and t,
        "identity's seat limit rising to 10",
    )
    assert tenant["plan"] == "pro"

    # And a move to Business can be previewed (nothing changes)
    status, preview = _json(dev_server.call("POST", "/v1/billing/subscription/preview", {"plan": "business"}, headers))
    assert status == 200, preview
    assert preview["amount_due_now"] > 0

    # When ten days pass on the tenant's Stripe clock, and the admin cancels now with a prorated refund
    assert re.search(r"now \d{4}-", keel(dev_server, "stripe", "advance", "--days", "10", "--tenant", owner.tenant_id))
    eventually(lambda: subscription()["status"] == "active", "the clock's events processed")
    expected = _json(dev_server.call("GET", "/v1/billing/subscription/cancel-preview", headers=headers))[1]["refund"]
    status, done = _json(
        dev_server.call("POST", "/v1/billing/subscription/cancel", {"when": "now", "refund": "prorated"}, headers)
    )

    # Then the unused twenty days went back to the card, and the tenant is on the free plan again
    assert status == 200, done
    assert done["refund"]["amount"] == expected
    assert 2900 * 19 // 31 <= expected <= 2900 * 21 // 28
    assert done["subscription"]["plan"] == "free"
    (refunded,) = eventually(lambda: outbox(dev_server, owner, "billing.refund.issued.v1"), "the refund event")
    assert (refunded["payload"]["amount"], refunded["payload"]["currency"]) == (expected, "usd")
    eventually(lambda: _json(dev_server.call("GET", "/v1/tenant", headers=headers))[1]["seat_limit"] == 3, "3 seats")
