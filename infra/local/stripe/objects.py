"""Every object the emulator serves starts as a deep copy of Stripe's fixture of the same resource.

The fixtures (``fixtures/fixtures3.json``, Stripe's own, MIT) hold example values in every field;
each builder below overwrites every field whose example would be a lie here (ids, amounts,
statuses, timestamps, sample nested objects) and keeps the fixture's keys, so each object has
at least the keys Stripe's published object has.
"""

from __future__ import annotations

import copy
import functools
import json
import secrets
from pathlib import Path
from typing import Any

from infra.local.stripe.settings import API_VERSION

Obj = dict[str, Any]

FIXTURES = Path(__file__).parent / "fixtures" / "fixtures3.json"
ACCOUNT_NAME = "Keel (local Stripe)"
_NO_ADDRESS = {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}


@functools.cache
def _resources() -> dict[str, Obj]:
    with FIXTURES.open(encoding="utf-8") as handle:
        resources: dict[str, Obj] = json.load(handle)["resources"]
    return resources


def fixture(resource: str) -> Obj:
    """A fresh deep copy of Stripe's example ``resource`` (``customer``, ``checkout.session``...)."""
    return copy.deepcopy(_resources()[resource])


def build(resource: str, **fields: Any) -> Obj:
    obj = fixture(resource)
    obj.update(fields, livemode=False)
    return obj


def list_object(data: list[Obj], url: str) -> Obj:
    return {"object": "list", "data": data, "has_more": False, "url": url}


def deleted(resource: str, object_id: str) -> Obj:
    obj = fixture(f"deleted_{resource}")
    obj["id"] = object_id
    return obj


# -- catalogue ------------------------------------------------------------------------------------


def product(*, product_id: str, name: str, created: int, default_price: str | None, metadata: dict[str, str]) -> Obj:
    return build(
        "product",
        id=product_id,
        name=name,
        created=created,
        updated=created,
        default_price=default_price,
        description=None,
        images=[],
        marketing_features=[],
        metadata=metadata,
        package_dimensions=None,
        shippable=None,
        statement_descriptor=None,
        tax_code=None,
        unit_label=None,
        url=None,
        type="service",
        active=True,
    )


def price(
    *,
    price_id: str,
    product_id: str,
    unit_amount: int,
    currency: str,
    interval: str | None,
    interval_count: int,
    created: int,
    lookup_key: str | None,
    nickname: str | None = None,
    metadata: dict[str, str] | None = None,
) -> Obj:
    recurring = (
        {
            "interval": interval,
            "interval_count": interval_count,
            "meter": None,
            "usage_type": "licensed",
            "trial_period_days": None,
        }
        if interval
        else None
    )
    return build(
        "price",
        id=price_id,
        active=True,
        billing_scheme="per_unit",
        created=created,
        currency=currency,
        custom_unit_amount=None,
        lookup_key=lookup_key,
        metadata=metadata or {},
        nickname=nickname,
        product=product_id,
        recurring=recurring,
        tax_behavior="unspecified",
        tiers_mode=None,
        transform_quantity=None,
        type="recurring" if interval else "one_time",
        unit_amount=unit_amount,
        unit_amount_decimal=str(unit_amount),
    )


def plan_of(price_obj: Obj) -> Obj:
    """The legacy ``plan`` mirror of a recurring price (same id), as subscription items carry it."""
    recurring = price_obj["recurring"] or {}
    return build(
        "plan",
        id=price_obj["id"],
        active=price_obj["active"],
        amount=price_obj["unit_amount"],
        amount_decimal=price_obj["unit_amount_decimal"],
        billing_scheme="per_unit",
        created=price_obj["created"],
        currency=price_obj["currency"],
        interval=recurring.get("interval"),
        interval_count=recurring.get("interval_count"),
        metadata=dict(price_obj["metadata"]),
        meter=None,
        nickname=price_obj["nickname"],
        product=price_obj["product"],
        tiers_mode=None,
        transform_usage=None,
        trial_period_days=None,
        usage_type="licensed",
    )


# -- customers and payment methods ----------------------------------------------------------------


def customer(
    *,
    customer_id: str,
    created: int,
    email: str | None,
    name: str | None,
    description: str | None,
    phone: str | None,
    metadata: dict[str, str],
    test_clock: str | None,
) -> Obj:
    obj = build(
        "customer",
        id=customer_id,
        address=None,
        balance=0,
        created=created,
        currency=None,
        default_source=None,
        delinquent=False,
        description=description,
        discount=None,
        email=email,
        invoice_prefix=secrets.token_hex(4).upper(),
        metadata=metadata,
        name=name,
        next_invoice_sequence=1,
        phone=phone,
        preferred_locales=[],
        shipping=None,
        tax_exempt="none",
        test_clock=test_clock,
        customer_account=None,
    )
    obj["invoice_settings"].update(custom_fields=None, default_payment_method=None, footer=None, rendering_options=None)
    return obj


def payment_method(
    *, pm_id: str, created: int, card: dict[str, Any], customer_id: str | None, email: str | None
) -> Obj:
    obj = build(
        "payment_method",
        id=pm_id,
        allow_redisplay="unspecified",
        created=created,
        customer=customer_id,
        metadata={},
        type="card",
        customer_account=None,
    )
    obj["billing_details"].update(address=dict(_NO_ADDRESS), email=email, name=None, phone=None, tax_id=None)
    obj["card"].update(
        brand=card["brand"],
        display_brand=card["brand"],
        country="US",
        exp_month=12,
        exp_year=2034,
        fingerprint=card["fingerprint"],
        funding="credit",
        generated_from=None,
        last4=card["last4"],
        networks={"available": [card["brand"]], "preferred": None},
        wallet=None,
        regulated_status="unregulated",
    )
    return obj


# -- subscriptions --------------------------------------------------------------------------------


def subscription_item(
    *, item_id: str, subscription_id: str, price_obj: Obj, quantity: int, created: int, period: tuple[int, int]
) -> Obj:
    return build(
        "subscription_item",
        id=item_id,
        created=created,
        discounts=[],
        metadata={},
        price=copy.deepcopy(price_obj),
        plan=plan_of(price_obj),
        quantity=quantity,
        subscription=subscription_id,
        tax_rates=[],
        current_period_start=period[0],
        current_period_end=period[1],
        billing_thresholds=None,
    )


def subscription(
    *,
    subscription_id: str,
    customer_id: str,
    created: int,
    currency: str,
    items: list[Obj],
    anchor: int,
    status: str,
    default_payment_method: str | None,
    metadata: dict[str, str],
    trial: tuple[int, int] | None,
    test_clock: str | None,
    missing_payment_method: str,
) -> Obj:
    obj = build(
        "subscription",
        id=subscription_id,
        application=None,
        application_fee_percent=None,
        automatic_tax={"enabled": False, "liability": None, "disabled_reason": None},
        billing_cycle_anchor=anchor,
        billing_cycle_anchor_config=None,
        cancel_at=None,
        canceled_at=None,
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        collection_method="charge_automatically",
        created=created,
        currency=currency,
        customer=customer_id,
        days_until_due=None,
        default_payment_method=default_payment_method,
        default_source=None,
        default_tax_rates=[],
        description=None,
        discounts=[],
        ended_at=None,
        items=list_object(items, f"/v1/subscription_items?subscription={subscription_id}"),
        latest_invoice=None,
        metadata=metadata,
        next_pending_invoice_item_invoice=None,
        on_behalf_of=None,
        pause_collection=None,
        pending_invoice_item_interval=None,
        pending_setup_intent=None,
        pending_update=None,
        schedule=None,
        start_date=created,
        status=status,
        test_clock=test_clock,
        transfer_data=None,
        trial_start=trial[0] if trial else None,
        trial_end=trial[1] if trial else None,
        trial_settings={"end_behavior": {"missing_payment_method": missing_payment_method}},
        cancel_at_period_end=False,
        billing_thresholds=None,
        billing_mode={"type": "classic", "flexible": None},
        customer_account=None,
        managed_payments=None,
        billing_schedules=[],
    )
    obj["invoice_settings"].update(account_tax_ids=None, issuer={"type": "self"}, custom_fields=None, footer=None)
    obj["invoice_settings"]["description"] = None
    obj["payment_settings"].update(
        payment_method_options=None, payment_method_types=None, save_default_payment_method="off"
    )
    return obj


# -- invoices -------------------------------------------------------------------------------------


def invoice_item(
    *,
    item_id: str,
    customer_id: str,
    amount: int,
    currency: str,
    description: str,
    period: tuple[int, int],
    price_obj: Obj,
    quantity: int,
    subscription_id: str,
    subscription_item_id: str,
    date: int,
    test_clock: str | None,
) -> Obj:
    return build(
        "invoiceitem",
        id=item_id,
        amount=amount,
        currency=currency,
        customer=customer_id,
        date=date,
        description=description,
        discountable=False,
        discounts=[],
        invoice=None,
        metadata={},
        period={"start": period[0], "end": period[1]},
        proration=True,
        quantity=quantity,
        tax_rates=[],
        test_clock=test_clock,
        parent={
            "subscription_details": {"subscription": subscription_id, "subscription_item": subscription_item_id},
            "type": "subscription_details",
        },
        pricing=_pricing(price_obj),
        net_amount=amount,
        customer_account=None,
        quantity_decimal=str(quantity),
    )


def _pricing(price_obj: Obj) -> Obj:
    return {
        "type": "price_details",
        "price_details": {"price": price_obj["id"], "product": price_obj["product"]},
        "unit_amount_decimal": price_obj["unit_amount_decimal"],
    }


def line_item(
    *,
    line_id: str,
    invoice_id: str | None,
    amount: int,
    currency: str,
    description: str,
    period: tuple[int, int],
    price_obj: Obj,
    quantity: int,
    subscription_id: str | None,
    subscription_item_id: str | None,
    invoice_item_id: str | None,
    proration: bool,
) -> Obj:
    if invoice_item_id is not None:
        parent = {
            "invoice_item_details": {
                "invoice_item": invoice_item_id,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription_id,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        }
    else:
        parent = {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": subscription_id,
                "subscription_item": subscription_item_id,
            },
            "type": "subscription_item_details",
        }
    return build(
        "line_item",
        id=line_id,
        amount=amount,
        currency=currency,
        description=description,
        discount_amounts=[],
        discountable=not proration,
        discounts=[],
        invoice=invoice_id,
        metadata={},
        period={"start": period[0], "end": period[1]},
        quantity=quantity,
        subscription=subscription_id,
        pretax_credit_amounts=[],
        taxes=[],
        parent=parent,
        pricing=_pricing(price_obj),
        subtotal=amount,
        quantity_decimal=str(quantity),
    )


def invoice(
    *,
    invoice_id: str,
    customer: Obj,
    subscription_id: str | None,
    subscription_metadata: dict[str, str] | None,
    currency: str,
    lines: list[Obj],
    billing_reason: str,
    created: int,
    period: tuple[int, int],
    auto_advance: bool,
    finalizes_at: int | None,
) -> Obj:
    subtotal = sum(line["amount"] for line in lines)
    parent = (
        {
            "quote_details": None,
            "subscription_details": {"metadata": subscription_metadata or {}, "subscription": subscription_id},
            "type": "subscription_details",
        }
        if subscription_id
        else None
    )
    obj = build(
        "invoice",
        id=invoice_id,
        account_country="US",
        account_name=ACCOUNT_NAME,
        account_tax_ids=None,
        amount_due=max(subtotal, 0),
        amount_paid=0,
        amount_remaining=max(subtotal, 0),
        amount_shipping=0,
        application=None,
        attempt_count=0,
        attempted=False,
        auto_advance=auto_advance,
        automatic_tax={"enabled": False, "liability": None, "status": None, "disabled_reason": None, "provider": None},
        billing_reason=billing_reason,
        collection_method="charge_automatically",
        created=created,
        currency=currency,
        custom_fields=None,
        customer=customer["id"],
        customer_address=None,
        customer_email=customer["email"],
        customer_name=customer["name"],
        customer_phone=customer["phone"],
        customer_shipping=None,
        customer_tax_exempt="none",
        customer_tax_ids=[],
        default_payment_method=None,
        default_source=None,
        default_tax_rates=[],
        description=None,
        discounts=[],
        due_date=None,
        effective_at=None,
        ending_balance=None,
        footer=None,
        from_invoice=None,
        hosted_invoice_url=None,
        invoice_pdf=None,
        issuer={"type": "self"},
        last_finalization_error=None,
        latest_revision=None,
        lines=list_object(lines, f"/v1/invoices/{invoice_id}/lines"),
        metadata={},
        next_payment_attempt=None,
        number=None,
        on_behalf_of=None,
        period_start=period[0],
        period_end=period[1],
        post_payment_credit_notes_amount=0,
        pre_payment_credit_notes_amount=0,
        receipt_number=None,
        rendering=None,
        shipping_cost=None,
        shipping_details=None,
        starting_balance=0,
        statement_descriptor=None,
        status="draft",
        status_transitions={"finalized_at": None, "marked_uncollectible_at": None, "paid_at": None, "voided_at": None},
        subscription=subscription_id,
        subtotal=subtotal,
        subtotal_excluding_tax=subtotal,
        test_clock=customer["test_clock"],
        total=subtotal,
        total_discount_amounts=[],
        total_excluding_tax=subtotal,
        webhooks_delivered_at=None,
        automatically_finalizes_at=finalizes_at,
        total_pretax_credit_amounts=[],
        total_taxes=[],
        amount_overpaid=0,
        parent=parent,
        customer_account=None,
    )
    obj["payment_settings"].update(default_mandate=None, payment_method_options=None, payment_method_types=None)
    return obj


def invoice_payment(
    *, payment_id: str, invoice_id: str, amount: int, currency: str, created: int, payment_intent: str
) -> Obj:
    return build(
        "invoice_payment",
        id=payment_id,
        amount_paid=None,
        amount_requested=amount,
        created=created,
        currency=currency,
        invoice=invoice_id,
        is_default=True,
        payment={"type": "payment_intent", "payment_intent": payment_intent, "charge": None},
        status="open",
        status_transitions={"canceled_at": None, "paid_at": None},
    )


# -- payments -------------------------------------------------------------------------------------


def payment_intent(
    *,
    pi_id: str,
    amount: int,
    currency: str,
    customer_id: str,
    payment_method: str | None,
    created: int,
    description: str,
) -> Obj:
    return build(
        "payment_intent",
        id=pi_id,
        amount=amount,
        amount_capturable=0,
        amount_details={"tip": {}},
        amount_received=0,
        application=None,
        application_fee_amount=None,
        automatic_payment_methods=None,
        canceled_at=None,
        cancellation_reason=None,
        capture_method="automatic",
        client_secret=f"{pi_id}_secret_{secrets.token_urlsafe(18)}",
        confirmation_method="automatic",
        created=created,
        currency=currency,
        customer=customer_id,
        description=description,
        last_payment_error=None,
        latest_charge=None,
        metadata={},
        next_action=None,
        on_behalf_of=None,
        payment_method=payment_method,
        payment_method_configuration_details=None,
        payment_method_options={},
        payment_method_types=["card"],
        processing=None,
        receipt_email=None,
        review=None,
        setup_future_usage="off_session",
        shipping=None,
        statement_descriptor=None,
        statement_descriptor_suffix=None,
        status="requires_payment_method",
        transfer_data=None,
        transfer_group=None,
        source=None,
        excluded_payment_method_types=None,
        customer_account=None,
        managed_payments=None,
    )


def charge(
    *,
    charge_id: str,
    amount: int,
    currency: str,
    customer: Obj,
    payment_intent_id: str,
    payment_method: Obj,
    created: int,
    description: str,
    failure: tuple[str, str, str] | None,
) -> Obj:
    """A charge; ``failure`` is ``(code, decline_code, message)`` for a declined one."""
    card = payment_method["card"]
    obj = build(
        "charge",
        id=charge_id,
        amount=amount,
        amount_captured=0 if failure else amount,
        amount_refunded=0,
        application=None,
        application_fee=None,
        application_fee_amount=None,
        balance_transaction=None,
        calculated_statement_descriptor="KEEL",
        captured=failure is None,
        created=created,
        currency=currency,
        customer=customer["id"],
        description=description,
        disputed=False,
        failure_balance_transaction=None,
        failure_code=failure[0] if failure else None,
        failure_message=failure[2] if failure else None,
        fraud_details={},
        metadata={},
        on_behalf_of=None,
        outcome={
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "declined_by_network" if failure else "approved_by_network",
            "reason": failure[1] if failure else None,
            "risk_level": "normal",
            "risk_score": 20,
            "seller_message": "The bank did not return any further details with this decline."
            if failure
            else "Payment complete.",
            "type": "issuer_declined" if failure else "authorized",
        },
        paid=failure is None,
        payment_intent=payment_intent_id,
        payment_method=payment_method["id"],
        receipt_email=None,
        receipt_number=None,
        receipt_url=None,
        refunded=False,
        refunds=list_object([], f"/v1/charges/{charge_id}/refunds"),
        review=None,
        shipping=None,
        source_transfer=None,
        statement_descriptor=None,
        statement_descriptor_suffix=None,
        status="failed" if failure else "succeeded",
        transfer_data=None,
        transfer_group=None,
        source=None,
    )
    obj["billing_details"].update(address=dict(_NO_ADDRESS), email=customer["email"], name=customer["name"])
    details = obj["payment_method_details"]["card"]
    details.update(
        amount_authorized=None if failure else amount,
        brand=card["brand"],
        country="US",
        exp_month=card["exp_month"],
        exp_year=card["exp_year"],
        fingerprint=card["fingerprint"],
        last4=card["last4"],
        network=card["brand"],
        wallet=None,
        installments=None,
        mandate=None,
    )
    details["overcapture"] = {"maximum_amount_capturable": amount, "status": "unavailable"}
    details["checks"]["cvc_check"] = "pass"
    return obj


def refund(
    *, refund_id: str, charge_obj: Obj, amount: int, reason: str | None, metadata: dict[str, str], created: int
) -> Obj:
    return build(
        "refund",
        id=refund_id,
        amount=amount,
        balance_transaction=None,
        charge=charge_obj["id"],
        created=created,
        currency=charge_obj["currency"],
        destination_details={"card": {"type": "refund"}, "type": "card"},
        metadata=metadata,
        payment_intent=charge_obj["payment_intent"],
        reason=reason,
        receipt_number=None,
        source_transfer_reversal=None,
        status="succeeded",
        transfer_reversal=None,
        customer=charge_obj["customer"],
        customer_account=None,
        payment_method=charge_obj["payment_method"],
    )


def dispute(*, dispute_id: str, charge_obj: Obj, amount: int, reason: str, created: int, due_by: int) -> Obj:
    obj = build(
        "dispute",
        id=dispute_id,
        amount=amount,
        balance_transactions=[],
        charge=charge_obj["id"],
        created=created,
        currency=charge_obj["currency"],
        is_charge_refundable=False,
        metadata={},
        payment_intent=charge_obj["payment_intent"],
        reason=reason,
        status="needs_response",
        enhanced_eligibility_types=[],
    )
    obj["evidence_details"].update(due_by=due_by, has_evidence=False, past_due=False, submission_count=0)
    brand = charge_obj["payment_method_details"]["card"]["brand"]
    obj["payment_method_details"] = {
        "card": {"brand": brand, "case_type": "chargeback", "network_reason_code": "10.4", "network": brand},
        "type": "card",
    }
    return obj


def credit_note(
    *,
    note_id: str,
    invoice_obj: Obj,
    number: str,
    amount: int,
    lines: list[Obj],
    refunds: list[tuple[str, int]],
    out_of_band_amount: int,
    post_payment: bool,
    reason: str | None,
    memo: str | None,
    metadata: dict[str, str],
    created: int,
    pdf: str,
) -> Obj:
    return build(
        "credit_note",
        id=note_id,
        amount=amount,
        amount_shipping=0,
        created=created,
        currency=invoice_obj["currency"],
        customer=invoice_obj["customer"],
        customer_balance_transaction=None,
        discount_amount=0,
        discount_amounts=[],
        effective_at=created,
        invoice=invoice_obj["id"],
        lines=list_object(lines, f"/v1/credit_notes/{note_id}/lines"),
        memo=memo,
        metadata=metadata,
        number=number,
        out_of_band_amount=out_of_band_amount or None,
        pdf=pdf,
        shipping_cost=None,
        status="issued",
        subtotal=amount,
        subtotal_excluding_tax=amount,
        total=amount,
        total_excluding_tax=amount,
        type="post_payment" if post_payment else "pre_payment",
        voided_at=None,
        pretax_credit_amounts=[],
        total_taxes=[],
        refunds=[
            {"amount_refunded": value, "refund": refund_id, "payment_record_refund": None, "type": "refund"}
            for refund_id, value in refunds
        ],
        post_payment_amount=amount if post_payment else 0,
        pre_payment_amount=0 if post_payment else amount,
        reason=reason,
        customer_account=None,
    )


def credit_note_line(*, line_id: str, amount: int, description: str, invoice_line: str | None) -> Obj:
    return build(
        "credit_note_line_item",
        id=line_id,
        amount=amount,
        description=description,
        discount_amount=0,
        discount_amounts=[],
        invoice_line_item=invoice_line,
        quantity=1,
        tax_rates=[],
        type="invoice_line_item" if invoice_line else "custom_line_item",
        unit_amount=None if invoice_line else amount,
        unit_amount_decimal=None if invoice_line else str(amount),
        pretax_credit_amounts=[],
        taxes=[],
        metadata={},
    )


# -- checkout, portal, clocks, events, endpoints ---------------------------------------------------


def checkout_item(*, item_id: str, price_obj: Obj, quantity: int, description: str) -> Obj:
    amount = price_obj["unit_amount"] * quantity
    return build(
        "item",
        id=item_id,
        amount_discount=0,
        amount_subtotal=amount,
        amount_tax=0,
        amount_total=amount,
        currency=price_obj["currency"],
        description=description,
        price=copy.deepcopy(price_obj),
        quantity=quantity,
        metadata={},
        adjustable_quantity=None,
    )


def checkout_session(
    *,
    session_id: str,
    created: int,
    expires_at: int,
    url: str,
    mode: str,
    customer_id: str | None,
    customer_email: str | None,
    client_reference_id: str | None,
    metadata: dict[str, str],
    success_url: str | None,
    cancel_url: str | None,
    currency: str,
    amount: int,
) -> Obj:
    return build(
        "checkout.session",
        id=session_id,
        after_expiration=None,
        allow_promotion_codes=None,
        amount_subtotal=amount,
        amount_total=amount,
        automatic_tax={"enabled": False, "liability": None, "status": None, "provider": None},
        billing_address_collection=None,
        cancel_url=cancel_url,
        client_reference_id=client_reference_id,
        client_secret=None,
        consent=None,
        consent_collection=None,
        created=created,
        currency=currency,
        custom_fields=[],
        custom_text={
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        customer=customer_id,
        customer_creation=None if customer_id else "always",
        customer_details=None,
        customer_email=customer_email,
        expires_at=expires_at,
        invoice=None,
        invoice_creation=None,
        locale=None,
        metadata=metadata,
        mode=mode,
        payment_intent=None,
        payment_link=None,
        payment_method_collection="always",
        payment_method_configuration_details=None,
        payment_method_options={},
        payment_method_types=["card"],
        payment_status="unpaid",
        phone_number_collection={"enabled": False},
        recovered_from=None,
        saved_payment_method_options=None,
        setup_intent=None,
        shipping_address_collection=None,
        shipping_cost=None,
        shipping_options=[],
        status="open",
        submit_type=None,
        subscription=None,
        success_url=success_url,
        total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        ui_mode="hosted",
        url=url,
        adaptive_pricing={"enabled": False},
        discounts=[],
        collected_information=None,
        permissions=None,
        wallet_options=None,
        origin_context=None,
        currency_conversion=None,
        customer_account=None,
        integration_identifier=None,
        managed_payments=None,
    )


def customer_details(customer_obj: Obj) -> Obj:
    """``checkout.session.customer_details`` once the session is complete."""
    details = fixture("checkout.session")["customer_details"]
    details.update(
        address=None,
        email=customer_obj["email"],
        name=customer_obj["name"],
        phone=None,
        tax_exempt="none",
        tax_ids=[],
        business_name=None,
        individual_name=None,
    )
    return dict(details)


def portal_configuration(*, config_id: str, created: int, cancel_at_period_end: bool, proration: str) -> Obj:
    obj = build(
        "billing_portal.configuration",
        id=config_id,
        active=True,
        application=None,
        business_profile={"headline": None, "privacy_policy_url": None, "terms_of_service_url": None},
        created=created,
        default_return_url=None,
        is_default=True,
        login_page={"enabled": False, "url": None},
        metadata={},
        updated=created,
        name=None,
    )
    features = obj["features"]
    features["customer_update"] = {"allowed_updates": [], "enabled": False}
    features["payment_method_update"] = {"enabled": True, "payment_method_configuration": None}
    features["subscription_cancel"] = {
        "cancellation_reason": {"enabled": False, "options": []},
        "enabled": True,
        "mode": "at_period_end" if cancel_at_period_end else "immediately",
        "proration_behavior": "none" if cancel_at_period_end else proration,
    }
    features["subscription_update"].update(
        default_allowed_updates=["price"],
        enabled=True,
        proration_behavior=proration,
        schedule_at_period_end=None,
        trial_update_behavior="end_trial",
        billing_cycle_anchor=None,
    )
    return obj


def portal_session(
    *, session_id: str, configuration: str, customer_id: str, created: int, return_url: str | None, url: str
) -> Obj:
    return build(
        "billing_portal.session",
        id=session_id,
        configuration=configuration,
        created=created,
        customer=customer_id,
        flow=None,
        locale=None,
        on_behalf_of=None,
        return_url=return_url,
        url=url,
        customer_account=None,
    )


def test_clock(*, clock_id: str, created: int, frozen_time: int, name: str | None) -> Obj:
    return build(
        "test_helpers.test_clock",
        id=clock_id,
        created=created,
        deletes_after=created + 30 * 86400,
        frozen_time=frozen_time,
        name=name,
        status="ready",
        status_details={},
    )


def event(
    *,
    event_id: str,
    event_type: str,
    data_object: Obj,
    previous: dict[str, Any] | None,
    created: int,
    request: tuple[str | None, str | None],
    pending_webhooks: int,
) -> Obj:
    data: Obj = {"object": data_object}
    if previous is not None:
        data["previous_attributes"] = previous
    return build(
        "event",
        id=event_id,
        api_version=API_VERSION,
        created=created,
        data=data,
        pending_webhooks=pending_webhooks,
        request={"id": request[0], "idempotency_key": request[1]},
        type=event_type,
    )


def webhook_endpoint(
    *,
    endpoint_id: str,
    url: str,
    enabled_events: list[str],
    description: str | None,
    metadata: dict[str, str],
    created: int,
) -> Obj:
    return build(
        "webhook_endpoint",
        id=endpoint_id,
        api_version=API_VERSION,
        application=None,
        created=created,
        description=description,
        enabled_events=enabled_events,
        metadata=metadata,
        status="enabled",
        url=url,
    )
