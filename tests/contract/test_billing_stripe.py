"""Billing's side of the Stripe contract.

- Its webhook signature check (no ``stripe`` import) answers as ``stripe.WebhookSignature.verify_header``
  does, on every case; it is stricter on one: a timestamp too far in the future.
- Its adapter reads everything it needs from the SDK's typed objects (``StripeObject.construct_from``),
  built from Stripe's published fixtures and from what the local emulator serves.
- The API version it pins is the SDK's and the emulator's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import stripe

from functions.billing.adapters import stripe_gateway
from functions.billing.adapters.stripe_webhook import verify_signature
from functions.billing.domain.errors import InvalidSignature
from infra.local.stripe import StripeEmulator
from infra.local.stripe.objects import fixture
from infra.local.stripe.settings import API_VERSION as EMULATOR_VERSION
from tests.integration.stripe.support import API_KEY, Receiver, pay_checkout, raw, start_emulator

SECRET = "whsec_contract"
PAYLOAD = json.dumps({"id": "evt_1", "object": "event", "type": "invoice.paid"}, indent=2).encode()


def _v1(payload: bytes, secret: str, t: int) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()


Header = Callable[[int], str | None]
#: (case, payload, the Stripe-Signature header at time ``now``, the secrets configured)
CASES: list[tuple[str, bytes, Header, list[str]]] = [
    ("valid", PAYLOAD, lambda now: f"t={now},v1={_v1(PAYLOAD, SECRET, now)}", [SECRET]),
    ("one of several v1", PAYLOAD, lambda now: f"t={now},v1={'0' * 64},v1={_v1(PAYLOAD, SECRET, now)}", [SECRET]),
    ("one of several secrets", PAYLOAD, lambda now: f"t={now},v1={_v1(PAYLOAD, SECRET, now)}", ["whsec_x", SECRET]),
    ("v0 next to v1", PAYLOAD, lambda now: f"t={now},v0=abc,v1={_v1(PAYLOAD, SECRET, now)}", [SECRET]),
    ("299 s old", PAYLOAD, lambda now: f"t={now - 299},v1={_v1(PAYLOAD, SECRET, now - 299)}", [SECRET]),
    ("tampered body", PAYLOAD + b" ", lambda now: f"t={now},v1={_v1(PAYLOAD, SECRET, now)}", [SECRET]),
    ("wrong secret", PAYLOAD, lambda now: f"t={now},v1={_v1(PAYLOAD, 'whsec_other', now)}", [SECRET]),
    ("tampered timestamp", PAYLOAD, lambda now: f"t={now + 1},v1={_v1(PAYLOAD, SECRET, now)}", [SECRET]),
    ("301 s old", PAYLOAD, lambda now: f"t={now - 301},v1={_v1(PAYLOAD, SECRET, now - 301)}", [SECRET]),
    ("missing header", PAYLOAD, lambda now: None, [SECRET]),
    ("empty header", PAYLOAD, lambda now: "", [SECRET]),
    ("no timestamp", PAYLOAD, lambda now: f"v1={_v1(PAYLOAD, SECRET, now)}", [SECRET]),
    ("no v1", PAYLOAD, lambda now: f"t={now}", [SECRET]),
    ("garbage", PAYLOAD, lambda now: "garbage", [SECRET]),
    ("timestamp not a number", PAYLOAD, lambda now: "t=abc,v1=abc", [SECRET]),
]


def _sdk_accepts(payload: bytes, header: str | None, secrets: list[str]) -> bool:
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, 300)
            return True
        except stripe.SignatureVerificationError:
            continue
    return False


def _ours_accepts(payload: bytes, header: str | None, secrets: list[str]) -> bool:
    try:
        verify_signature(payload, header, secrets, now=time.time(), tolerance=300)
    except InvalidSignature:
        return False
    return True


@pytest.mark.parametrize(("case", "payload", "header", "secrets"), CASES, ids=[c[0] for c in CASES])
def test_the_signature_check_answers_as_the_sdk_does(
    case: str, payload: bytes, header: Header, secrets: list[str]
) -> None:
    signed = header(int(time.time()))
    assert _ours_accepts(payload, signed, secrets) == _sdk_accepts(payload, signed, secrets)


def test_a_timestamp_too_far_in_the_future_is_refused_where_the_sdk_lets_it_pass() -> None:
    later = int(time.time()) + 310
    header = f"t={later},v1={_v1(PAYLOAD, SECRET, later)}"
    assert _sdk_accepts(PAYLOAD, header, [SECRET])
    assert not _ours_accepts(PAYLOAD, header, [SECRET])


def test_the_receiver_never_imports_stripe() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import functions.billing.handlers.stripe_webhook as h; "
        "from functions.billing import wiring; wiring.webhook_receiver; "
        "print('stripe' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_pinned_api_version_is_the_sdks_and_the_emulators() -> None:
    assert stripe_gateway.API_VERSION == stripe.api_version == EMULATOR_VERSION


# -- reading Stripe's objects ---------------------------------------------------------------------


def typed(obj: dict[str, Any]) -> Any:
    return stripe.StripeObject.construct_from(obj, API_KEY)


def test_the_adapter_reads_stripes_published_fixtures() -> None:
    # Given Stripe's own example of each object billing reads, as the SDK builds it
    FIXTURES = {name: fixture(name) for name in ("subscription", "invoice", "charge", "credit_note", "dispute")}
    FIXTURES["checkout.session"] = fixture("checkout.session")
    sub = stripe_gateway.subscription_of(typed(FIXTURES["subscription"]))
    invoice = stripe_gateway.invoice_of(typed(FIXTURES["invoice"]))
    charge = stripe_gateway.charge_of(typed(FIXTURES["charge"]))
    note = stripe_gateway.credit_note_of(typed(FIXTURES["credit_note"]))
    dispute = stripe_gateway.dispute_of(typed(FIXTURES["dispute"]))
    session = stripe_gateway.checkout_of(typed(FIXTURES["checkout.session"]))
    # Then every field billing needs is read from it
    assert (sub.id, sub.status, sub.price_id) == (
        FIXTURES["subscription"]["id"],
        FIXTURES["subscription"]["status"],
        FIXTURES["subscription"]["items"]["data"][0]["price"]["id"],
    )
    assert (invoice.id, invoice.total, invoice.currency) == (
        FIXTURES["invoice"]["id"],
        FIXTURES["invoice"]["total"],
        FIXTURES["invoice"]["currency"],
    )
    assert (charge.id, charge.amount_refunded) == (FIXTURES["charge"]["id"], FIXTURES["charge"]["amount_refunded"])
    assert (note.id, note.amount) == (FIXTURES["credit_note"]["id"], FIXTURES["credit_note"]["amount"])
    assert dispute.id == FIXTURES["dispute"]["id"]
    assert session.id == FIXTURES["checkout.session"]["id"]


@pytest.fixture(scope="module")
def toured() -> Iterator[dict[str, dict[str, Any]]]:
    """What the emulator serves over HTTP for one checkout, a refund and a dispute (raw JSON)."""
    receiver = Receiver().start()
    emulator: StripeEmulator = start_emulator(receiver)
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url}, max_network_retries=0)
    try:
        customer = client.v1.customers.create(params={"metadata": {"tenant_id": "ten_x"}})
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer.id,
                "client_reference_id": "ten_x",
                "line_items": [{"price": "price_pro_monthly", "quantity": 1}],
                "subscription_data": {"metadata": {"tenant_id": "ten_x"}},
                "success_url": "https://app.test/done",
            }
        )
        pay_checkout(emulator, str(session.url))
        got = {"session": raw(emulator, "GET", f"/v1/checkout/sessions/{session.id}?expand[]=subscription")[2]}
        sub = got["session"]["subscription"]
        got["subscription"] = raw(emulator, "GET", f"/v1/subscriptions/{sub['id']}")[2]
        got["invoice"] = raw(emulator, "GET", f"/v1/invoices/{sub['latest_invoice']}?expand[]=payments")[2]
        note = {
            "invoice": sub["latest_invoice"],
            "amount": "700",
            "refund_amount": "700",
            "metadata[keel_request]": "r1",
        }
        got["credit_note"] = raw(emulator, "POST", "/v1/credit_notes", note)[2]
        refund = raw(emulator, "GET", f"/v1/refunds/{got['credit_note']['refunds'][0]['refund']}")[2]
        got["charge"] = raw(emulator, "GET", f"/v1/charges/{refund['charge']}?expand[]=refunds")[2]
        disputed = client.v1.customers.create(
            params={
                "payment_method": "pm_card_createDispute",
                "invoice_settings": {"default_payment_method": "pm_card_createDispute"},
            }
        )
        client.v1.subscriptions.create(params={"customer": disputed.id, "items": [{"price": "price_pro_monthly"}]})
        got["dispute"] = raw(emulator, "GET", "/v1/disputes?limit=1&expand[]=data.charge")[2]["data"][0]
        yield got
    finally:
        emulator.stop()
        receiver.stop()


def test_the_adapter_reads_what_the_emulator_serves(toured: dict[str, dict[str, Any]]) -> None:
    session = stripe_gateway.checkout_of(typed(toured["session"]))
    assert session.tenant_id == "ten_x"
    assert session.subscription is not None
    sub = stripe_gateway.subscription_of(typed(toured["subscription"]))
    assert (sub.status, sub.price_id, sub.tenant_id) == ("active", "price_pro_monthly", "ten_x")
    item = toured["subscription"]["items"]["data"][0]
    assert int(sub.current_period_end.timestamp()) == item["current_period_end"]
    invoice = stripe_gateway.invoice_of(typed(toured["invoice"]))
    assert (invoice.status, invoice.amount_paid, invoice.subscription_id) == ("paid", 2900, sub.id)
    assert invoice.payment_intent_ids
    assert invoice.lines
    note = stripe_gateway.credit_note_of(typed(toured["credit_note"]))
    assert (note.invoice_id, note.amount, note.request) == (invoice.id, 700, "r1")
    charge = stripe_gateway.charge_of(typed(toured["charge"]))
    assert (charge.customer_id, charge.payment_intent_id, charge.amount_refunded) == (
        sub.customer_id,
        invoice.payment_intent_ids[0],
        700,
    )
    assert [r.id for r in charge.refunds] == list(note.refund_ids)
    dispute = stripe_gateway.dispute_of(typed(toured["dispute"]))
    assert dispute.customer_id is not None
    assert dispute.customer_id != sub.customer_id
    assert dispute.payment_intent_id is not None
