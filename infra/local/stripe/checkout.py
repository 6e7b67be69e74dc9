"""Checkout sessions (subscription mode) and billing portal sessions, and what their pages do.

Completing a session (the checkout page's "Pay") emits, in this order: ``customer.created`` (when
the session made the customer), ``payment_method.attached``, ``customer.updated`` (its default
payment method), ``customer.subscription.created`` (``incomplete``; ``trialing`` with a trial),
``invoice.created``, ``invoice.finalized``, ``payment_intent.created``, ``charge.succeeded``,
``payment_intent.succeeded``, ``invoice_payment.paid``, ``invoice.paid``,
``invoice.payment_succeeded``, ``customer.subscription.updated`` (``active``), then
``checkout.session.completed``. A card that would be declined leaves the session open and
creates nothing, as Checkout shows the decline to the payer.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.local.stripe import objects, payments, subscriptions
from infra.local.stripe.account import Account, snapshot
from infra.local.stripe.errors import StripeError, invalid
from infra.local.stripe.params import Params
from infra.local.stripe.periods import DAY
from infra.local.stripe.plans import ItemPlan, recurring_price
from infra.local.stripe.store import Obj, new_id


@dataclass(frozen=True)
class SessionTerms:
    """What a checkout session will subscribe its customer to."""

    plans: tuple[ItemPlan, ...]
    line_items: tuple[Obj, ...]
    trial_days: int | None
    trial_end: int | None
    subscription_metadata: dict[str, str]


def create_session(acct: Account, params: Params) -> Obj:
    """``POST /v1/checkout/sessions`` in ``subscription`` mode."""
    params.allow(
        (
            "mode",
            "customer",
            "customer_email",
            "client_reference_id",
            "metadata",
            "line_items",
            "success_url",
            "cancel_url",
            "subscription_data",
            "allow_promotion_codes",
            "payment_method_types",
            "billing_address_collection",
            "customer_update",
            "locale",
            "ui_mode",
            "expires_at",
            "automatic_tax",
        )
    )
    mode = params.choice("mode", ("payment", "setup", "subscription"), required=True)
    if mode != "subscription":
        raise invalid("The local Stripe emulator supports Checkout in subscription mode only.", param="mode")
    if params.choice("ui_mode", ("hosted", "embedded", "custom")) not in (None, "hosted"):
        raise invalid("The local Stripe emulator supports ui_mode=hosted only.", param="ui_mode")
    customer_id = params.text("customer")
    customer = acct.store.get(customer_id, "customer", param="customer") if customer_id else None
    email = params.text("customer_email", max_length=512)
    if customer is not None and email:
        raise invalid("You may only specify one of these parameters: customer, customer_email.")
    plans, items = _line_items(acct, params)
    data = params.nested("subscription_data") or Params({}, "subscription_data")
    data.allow(("trial_period_days", "trial_end", "metadata", "description", "trial_settings"))
    now = acct.now(customer_id)
    expires_at = params.integer("expires_at", minimum=now + 1800, maximum=now + 86400)
    session_id = new_id("cs_test", 58)
    session = acct.store.add(
        objects.checkout_session(
            session_id=session_id,
            created=now,
            expires_at=expires_at or now + acct.settings.checkout_expires_after_seconds,
            url=f"{acct.base_url}/checkout/{session_id}",
            mode=mode,
            customer_id=customer_id,
            customer_email=email,
            client_reference_id=params.text("client_reference_id", max_length=200),
            metadata=params.metadata() or {},
            success_url=params.text("success_url", max_length=5000),
            cancel_url=params.text("cancel_url", max_length=5000),
            currency=plans[0].price["currency"],
            amount=sum(plan.price["unit_amount"] * plan.quantity for plan in plans),
        )
    )
    acct.checkout_terms[session_id] = SessionTerms(
        plans=tuple(plans),
        line_items=tuple(items),
        trial_days=data.integer("trial_period_days", minimum=1, maximum=730),
        trial_end=data.integer("trial_end", minimum=now + 2 * DAY),
        subscription_metadata=data.metadata() or {},
    )
    return session


def _line_items(acct: Account, params: Params) -> tuple[list[ItemPlan], list[Obj]]:
    plans, items = [], []
    for line in params.hashes("line_items"):
        line.allow(("price", "quantity", "adjustable_quantity"))
        price = recurring_price(acct, line.req("price"), param=line.name("price"))
        quantity = line.integer("quantity", minimum=1, maximum=10_000) or 1
        plans.append(ItemPlan("", price, quantity))
        items.append(
            objects.checkout_item(
                item_id=new_id("li"), price_obj=price, quantity=quantity, description=acct.product_name(price)
            )
        )
    if not plans:
        raise invalid("Missing required param: line_items.", param="line_items", code="parameter_missing")
    return plans, items


def line_items(acct: Account, session: Obj) -> list[Obj]:
    terms = acct.checkout_terms.get(session["id"])
    return [snapshot(item) for item in terms.line_items] if terms else []


def complete(acct: Account, session: Obj, card: payments.TestCard, *, email: str | None) -> Obj:
    """The payer pressed "Pay" with ``card``: subscribe, then ``checkout.session.completed``."""
    if session["status"] != "open":
        raise invalid(f"This Checkout Session is {session['status']}.", code="checkout_session_not_open")
    terms = acct.checkout_terms[session["id"]]
    customer_id = session["customer"]
    now = acct.now(customer_id)
    trial_end = now + terms.trial_days * DAY if terms.trial_days else terms.trial_end
    if card.behaviour == "decline_at_once" or (trial_end is None and card.behaviour == "decline_later"):
        raise _declined(card)
    if customer_id is None:
        customer = acct.store.add(
            objects.customer(
                customer_id=new_id("cus", 14),
                created=now,
                email=email or session["customer_email"],
                name=None,
                description=None,
                phone=None,
                metadata={},
                test_clock=None,
            )
        )
        acct.emit("customer.created", customer)
    else:
        customer = acct.store.get(customer_id, "customer")
    forced = acct.forced_failures.get(customer["id"])
    if trial_end is None and forced and forced[0] > 0:
        acct.forced_failures[customer["id"]] = (forced[0] - 1, forced[1])
        raise _declined(payments.TestCard(card.number, card.brand, "decline_at_once", forced[1]))
    pm = payments.create_payment_method(acct, card, customer_id=customer["id"])
    before = snapshot(customer)
    customer["invoice_settings"]["default_payment_method"] = pm["id"]
    acct.emit_changes("customer.updated", customer, before)
    sub = subscriptions.start(
        acct,
        customer,
        list(terms.plans),
        trial_end=trial_end,
        default_payment_method=pm["id"],
        metadata=dict(terms.subscription_metadata),
        payment_behavior="allow_incomplete",
        on_session=True,
    )
    session.update(
        status="complete",
        payment_status="no_payment_required" if trial_end else "paid",
        customer=customer["id"],
        subscription=sub["id"],
        invoice=sub["latest_invoice"],
        customer_details=objects.customer_details(customer),
        collected_information={"shipping_details": None, "business_name": None, "individual_name": None},
    )
    acct.emit("checkout.session.completed", session)
    return session


def _declined(card: payments.TestCard) -> StripeError:
    return StripeError(
        402, "card_error", payments.DECLINED, code="card_declined", extra={"decline_code": card.decline_code}
    )


def expire(acct: Account, session: Obj) -> Obj:
    """``POST /v1/checkout/sessions/{id}/expire``, or its ``expires_at`` passing."""
    if session["status"] != "open":
        raise invalid(f"This Checkout Session is {session['status']} and cannot be expired.")
    session.update(status="expired", url=None)
    acct.emit("checkout.session.expired", session)
    return session


# -- billing portal -------------------------------------------------------------------------------


def create_portal_session(acct: Account, params: Params) -> Obj:
    """``POST /v1/billing_portal/sessions``."""
    params.allow(("customer", "return_url", "configuration", "locale", "flow_data", "on_behalf_of"))
    customer = acct.store.get(params.req("customer"), "customer", param="customer")
    configuration = params.text("configuration") or acct.portal_configuration["id"]
    acct.store.get(configuration, "billing_portal.configuration", param="configuration")
    session_id = new_id("bps")
    return acct.store.add(
        objects.portal_session(
            session_id=session_id,
            configuration=configuration,
            customer_id=customer["id"],
            created=acct.now(customer["id"]),
            return_url=params.text("return_url", max_length=5000),
            url=f"{acct.base_url}/portal/{session_id}",
        )
    )


def portal_subscription(acct: Account, session: Obj, sub_id: str) -> Obj:
    sub = acct.store.get(sub_id, "subscription", param="subscription")
    if sub["customer"] != session["customer"]:
        raise invalid("This subscription belongs to another customer.", param="subscription")
    return sub


def portal_switch(acct: Account, session: Obj, sub_id: str, price_id: str) -> Obj:
    """The portal's "Switch plan": the portal configuration's proration behaviour applies."""
    sub = portal_subscription(acct, session, sub_id)
    if sub["status"] not in ("active", "trialing", "past_due"):
        raise invalid("Only an active subscription can switch plans.")
    price = recurring_price(acct, price_id, param="price")
    item = sub["items"]["data"][0]
    proration = acct.portal_configuration["features"]["subscription_update"]["proration_behavior"]
    plans = [ItemPlan(item["id"], price, item["quantity"])]
    subscriptions.change(acct, sub, plans, proration_behavior=proration)
    return sub


def portal_cancel(acct: Account, session: Obj, sub_id: str) -> Obj:
    """The portal's "Cancel plan": at the period's end, or now, as the configuration says."""
    sub = portal_subscription(acct, session, sub_id)
    cancel = acct.portal_configuration["features"]["subscription_cancel"]
    if cancel["mode"] == "at_period_end":
        subscriptions.update(acct, sub, Params({"cancel_at_period_end": "true"}))
    else:
        prorate = cancel["proration_behavior"] != "none"
        subscriptions.cancel_now(acct, sub, prorate=prorate, invoice_now=prorate)
    return sub


def portal_renew(acct: Account, session: Obj, sub_id: str) -> Obj:
    """The portal's "Renew plan": undo a cancellation at the period's end."""
    sub = portal_subscription(acct, session, sub_id)
    return subscriptions.update(acct, sub, Params({"cancel_at_period_end": "false"}))
