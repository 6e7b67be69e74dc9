"""Test cards, payment methods, charging an invoice, refunds and disputes.

Stripe's test cards are recognised by number (on the checkout page) and by test token
(``pm_card_visa``...) wherever a payment method id is accepted:

| card | token | behaviour |
|---|---|---|
| 4242 4242 4242 4242 | ``pm_card_visa`` | every payment succeeds |
| 5555 5555 5555 4444 | ``pm_card_mastercard`` | every payment succeeds |
| 4000 0000 0000 0341 | ``pm_card_chargeCustomerFail`` | attaches, every later payment is declined |
| 4000 0000 0000 0002 | ``pm_card_chargeDeclined`` | declined (``generic_decline``) at once |
| 4000 0000 0000 9995 | ``pm_card_chargeDeclinedInsufficientFunds`` | declined (``insufficient_funds``) at once |
| 4000 0027 6000 3184 | ``pm_card_authenticationRequired`` | every payment needs authentication |
| 4000 0000 0000 0259 | ``pm_card_createDispute`` | succeeds, then the charge is disputed |
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from infra.local.stripe import objects
from infra.local.stripe.account import Account, snapshot
from infra.local.stripe.errors import StripeError, card_declined, invalid
from infra.local.stripe.periods import DAY
from infra.local.stripe.store import Obj, new_id

Behaviour = Literal["succeed", "decline_at_once", "decline_later", "authenticate", "dispute"]
Outcome = Literal["paid", "failed", "requires_action"]
DECLINED = "Your card was declined."


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    behaviour: Behaviour
    decline_code: str = "generic_decline"

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def details(self) -> dict[str, str]:
        fingerprint = hashlib.sha256(self.number.encode()).hexdigest()[:16]
        return {"brand": self.brand, "last4": self.last4, "fingerprint": fingerprint}


CARDS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("4242424242424242", "visa", "succeed"),
    "pm_card_mastercard": TestCard("5555555555554444", "mastercard", "succeed"),
    "pm_card_chargeCustomerFail": TestCard("4000000000000341", "visa", "decline_later"),
    "pm_card_chargeDeclined": TestCard("4000000000000002", "visa", "decline_at_once"),
    "pm_card_chargeDeclinedInsufficientFunds": TestCard(
        "4000000000009995", "visa", "decline_at_once", "insufficient_funds"
    ),
    "pm_card_authenticationRequired": TestCard("4000002760003184", "visa", "authenticate"),
    "pm_card_createDispute": TestCard("4000000000000259", "visa", "dispute"),
}
CARDS_BY_NUMBER = {card.number: card for card in CARDS.values()}


def card_of(pm: Obj) -> TestCard:
    """The test card behind a payment method (recognised by its fingerprint)."""
    for card in CARDS.values():
        if card.details()["fingerprint"] == pm["card"]["fingerprint"]:
            return card
    return CARDS["pm_card_visa"]


def create_payment_method(acct: Account, card: TestCard, *, customer_id: str | None) -> Obj:
    """A card payment method; ``customer_id`` attaches it (``payment_method.attached``)."""
    customer = acct.store.get(customer_id, "customer") if customer_id else None
    if customer is not None and card.behaviour == "decline_at_once":
        raise card_declined(DECLINED, decline_code=card.decline_code, charge=None, payment_intent=None)
    pm = acct.store.add(
        objects.payment_method(
            pm_id=new_id("pm"),
            created=acct.now(customer_id),
            card=card.details(),
            customer_id=None,
            email=customer["email"] if customer else None,
        )
    )
    if customer_id:
        attach(acct, pm, customer_id)
    return pm


def attach(acct: Account, pm: Obj, customer_id: str) -> Obj:
    customer = acct.store.get(customer_id, "customer", param="customer")
    if pm["customer"] not in (None, customer_id):
        raise invalid("This PaymentMethod is already attached to another customer.", param="payment_method")
    if card_of(pm).behaviour == "decline_at_once":
        raise card_declined(DECLINED, decline_code=card_of(pm).decline_code, charge=None, payment_intent=None)
    if pm["customer"] is None:
        pm["customer"] = customer_id
        pm["billing_details"]["email"] = customer["email"]
        acct.emit("payment_method.attached", pm)
    return pm


def resolve_payment_method(acct: Account, value: str, *, customer_id: str, param: str) -> Obj:
    """A payment method id or test token (``pm_card_visa``: a new card attached to the customer)."""
    card = CARDS.get(value)
    if card is not None:
        return create_payment_method(acct, card, customer_id=customer_id)
    pm = acct.store.get(value, "payment_method", param=param)
    return attach(acct, pm, customer_id)


def would_decline(
    acct: Account, customer_id: str, pm_id: str | None, *, on_session: bool = False
) -> tuple[str, str] | None:
    """``(code, decline_code)`` when the next payment would not succeed (``on_session``: the payer
    is there to authenticate)."""
    if pm_id is None:
        return ("payment_method_missing", "payment_method_missing")
    forced = acct.forced_failures.get(customer_id)
    if forced and forced[0] > 0:
        return ("card_declined", forced[1])
    card = card_of(acct.store.get(pm_id, "payment_method"))
    if card.behaviour in ("decline_at_once", "decline_later"):
        return ("card_declined", card.decline_code)
    if card.behaviour == "authenticate" and not on_session:
        return ("authentication_required", "authentication_required")
    return None


def default_payment_method(acct: Account, invoice: Obj) -> str | None:
    """The invoice's, else its subscription's, else the customer's default payment method."""
    if invoice.get("default_payment_method"):
        return str(invoice["default_payment_method"])
    sub_id = invoice.get("subscription")
    if sub_id and (sub := acct.store.find(sub_id)) and sub.get("default_payment_method"):
        return str(sub["default_payment_method"])
    customer = acct.store.get(invoice["customer"], "customer")
    found = customer["invoice_settings"]["default_payment_method"]
    return str(found) if found else None


def intent_for(acct: Account, invoice: Obj, pm_id: str | None) -> Obj:
    """The invoice's payment intent (and its ``invoice_payment``), made on the first attempt."""
    existing = acct.invoice_intents.get(invoice["id"])
    if existing:
        intent = acct.store.get(existing, "payment_intent")
        intent["payment_method"] = pm_id
        return intent
    created = acct.now(invoice["customer"])
    intent = acct.store.add(
        objects.payment_intent(
            pi_id=new_id("pi"),
            amount=invoice["amount_due"],
            currency=invoice["currency"],
            customer_id=invoice["customer"],
            payment_method=pm_id,
            created=created,
            description=_description(invoice),
        )
    )
    acct.invoice_intents[invoice["id"]] = intent["id"]
    acct.store.add(
        objects.invoice_payment(
            payment_id=new_id("inpay"),
            invoice_id=invoice["id"],
            amount=invoice["amount_due"],
            currency=invoice["currency"],
            created=created,
            payment_intent=intent["id"],
        )
    )
    acct.emit("payment_intent.created", intent)
    return intent


def _description(invoice: Obj) -> str:
    return {
        "subscription_create": "Subscription creation",
        "subscription_cycle": "Subscription cycle",
        "subscription_update": "Subscription update",
    }.get(invoice["billing_reason"], "Payment for Invoice")


def charge_invoice(
    acct: Account, invoice: Obj, *, pm_override: str | None = None, on_session: bool = False
) -> tuple[Outcome, Obj | None]:
    """One payment attempt for ``invoice``'s amount due: the charge and payment-intent events."""
    customer = acct.store.get(invoice["customer"], "customer")
    pm_id = pm_override or default_payment_method(acct, invoice)
    intent = intent_for(acct, invoice, pm_id)
    problem = would_decline(acct, customer["id"], pm_id, on_session=on_session)
    if pm_id is None:
        intent["last_payment_error"] = {
            "type": "invalid_request_error",
            "code": "payment_method_missing",
            "message": "The customer has no default payment method.",
        }
        acct.emit("payment_intent.payment_failed", intent)
        return "failed", None
    pm = acct.store.get(pm_id, "payment_method")
    if problem and problem[0] == "authentication_required":
        intent.update(
            status="requires_action",
            next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}},
        )
        acct.emit("payment_intent.requires_action", intent)
        return "requires_action", None
    forced = acct.forced_failures.get(customer["id"])
    if forced and forced[0] > 0:
        acct.forced_failures[customer["id"]] = (forced[0] - 1, forced[1])
    failure = (problem[0], problem[1], DECLINED) if problem else None
    charge = acct.store.add(
        objects.charge(
            charge_id=new_id("ch"),
            amount=invoice["amount_due"],
            currency=invoice["currency"],
            customer=customer,
            payment_intent_id=intent["id"],
            payment_method=pm,
            created=acct.now(customer["id"]),
            description=intent["description"],
            failure=failure,
        )
    )
    intent["latest_charge"] = charge["id"]
    intent["next_action"] = None
    if failure:
        intent.update(
            status="requires_payment_method",
            last_payment_error={
                "type": "card_error",
                "code": failure[0],
                "decline_code": failure[1],
                "message": DECLINED,
                "charge": charge["id"],
                "payment_method": pm,
            },
        )
        acct.emit("charge.failed", charge)
        acct.emit("payment_intent.payment_failed", intent)
        return "failed", charge
    intent.update(status="succeeded", amount_received=charge["amount"], last_payment_error=None)
    acct.emit("charge.succeeded", charge)
    acct.emit("payment_intent.succeeded", intent)
    return "paid", charge


def dispute_if_card_says_so(acct: Account, charge: Obj) -> None:
    """The ``createDispute`` test card: its successful charge is disputed straight away."""
    pm = acct.store.get(charge["payment_method"], "payment_method")
    if card_of(pm).behaviour == "dispute":
        open_dispute(acct, charge, amount=None, reason="fraudulent")


def open_dispute(acct: Account, charge: Obj, *, amount: int | None, reason: str) -> Obj:
    """A dispute on a successful charge (``charge.dispute.created``)."""
    if charge["status"] != "succeeded":
        raise invalid("Only a successful charge can be disputed.", param="charge")
    if charge["disputed"]:
        raise invalid(f"Charge {charge['id']} has already been disputed.", param="charge", code="charge_disputed")
    refundable = charge["amount"] - charge["amount_refunded"]
    if amount is not None and not 0 < amount <= refundable:
        raise invalid(f"The dispute amount must be between 1 and {refundable}.", param="amount")
    now = acct.now(charge["customer"])
    dispute = acct.store.add(
        objects.dispute(
            dispute_id=new_id("dp"),
            charge_obj=charge,
            amount=amount if amount is not None else refundable,
            reason=reason,
            created=now,
            due_by=now + 7 * DAY,
        )
    )
    charge["disputed"] = True
    acct.emit("charge.dispute.created", dispute)
    return dispute


def refund(acct: Account, charge: Obj, *, amount: int | None, reason: str | None, metadata: dict[str, str]) -> Obj:
    """A refund of (part of) a charge; more than the refundable remainder is Stripe's 400."""
    if charge["status"] != "succeeded":
        raise invalid(f"Charge {charge['id']} has not succeeded and cannot be refunded.", param="charge")
    if charge["disputed"]:
        raise invalid(
            f"Charge {charge['id']} has been disputed and cannot be refunded.", param="charge", code="charge_disputed"
        )
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining == 0:
        raise invalid(
            f"Charge {charge['id']} has already been refunded.", param="charge", code="charge_already_refunded"
        )
    value = remaining if amount is None else amount
    if value > remaining:
        raise invalid(
            f"Refund amount ({money(value, charge['currency'])}) is greater than unrefunded amount on charge "
            f"({money(remaining, charge['currency'])})",
            param="amount",
            code="amount_too_large",
        )
    refund_obj = acct.store.add(
        objects.refund(
            refund_id=new_id("re"),
            charge_obj=charge,
            amount=value,
            reason=reason,
            metadata=metadata,
            created=acct.now(charge["customer"]),
        )
    )
    before = snapshot(charge)
    charge["amount_refunded"] += value
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    charge["refunds"]["data"].insert(0, snapshot(refund_obj))
    acct.emit("refund.created", refund_obj)
    acct.emit("charge.refunded", charge, previous={"amount_refunded": before["amount_refunded"]})
    return refund_obj


SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$"}


def money(amount: int, currency: str) -> str:
    """``$29.00``: minor units shown the way Stripe's messages show them (two-decimal currencies)."""
    sign = "-" if amount < 0 else ""
    symbol = SYMBOLS.get(currency, currency.upper() + " ")
    return f"{sign}{symbol}{abs(amount) // 100}.{abs(amount) % 100:02d}"


def raise_for(problem: tuple[str, str], charge: Obj | None, intent: Obj | None) -> StripeError:
    if problem[0] == "authentication_required":
        return StripeError(
            402,
            "card_error",
            "Your card was declined. This transaction requires authentication.",
            code="authentication_required",
        )
    return card_declined(
        DECLINED, decline_code=problem[1], charge=charge["id"] if charge else None, payment_intent=intent
    )
