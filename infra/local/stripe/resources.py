"""Customers, products and prices, payment methods, webhook endpoints, and the payment test helpers."""

from __future__ import annotations

import secrets

from infra.local.stripe import lifecycle, objects, payments
from infra.local.stripe.account import Account, snapshot
from infra.local.stripe.errors import invalid
from infra.local.stripe.params import Params, merge_metadata
from infra.local.stripe.store import Obj, new_id

CUSTOMERS_PER_CLOCK = 3  # Stripe's limit
INTERVALS = ("day", "week", "month", "year")


# -- customers ------------------------------------------------------------------------------------


def create_customer(acct: Account, params: Params) -> Obj:
    """``POST /v1/customers`` (``test_clock`` attaches it to a clock; ``payment_method`` attaches a card)."""
    params.allow(
        ("email", "name", "description", "phone", "metadata", "test_clock", "payment_method", "invoice_settings")
    )
    clock_id = params.text("test_clock")
    if clock_id:
        clock = acct.store.get(clock_id, "test_helpers.test_clock", param="test_clock")
        attached = [c for c in acct.store.all("customer") if c["test_clock"] == clock_id]
        if len(attached) >= CUSTOMERS_PER_CLOCK:
            raise invalid(
                f"You can only attach up to {CUSTOMERS_PER_CLOCK} customers to a test clock.", param="test_clock"
            )
        created = acct.clock_now(clock["id"])
    else:
        created = acct.now()
    customer = acct.store.add(
        objects.customer(
            customer_id=new_id("cus", 14),
            created=created,
            email=params.text("email", max_length=512),
            name=params.text("name", max_length=256),
            description=params.text("description", max_length=350),
            phone=params.text("phone", max_length=20),
            metadata=params.metadata() or {},
            test_clock=clock_id,
        )
    )
    position = acct.mark()
    pm_token = params.text("payment_method")
    attached_pm = None
    if pm_token:
        attached_pm = payments.resolve_payment_method(
            acct, pm_token, customer_id=customer["id"], param="payment_method"
        )
    _default_payment_method(acct, customer, params, token=pm_token, attached=attached_pm)
    acct.emit("customer.created", customer)
    acct.move_last_to(position)
    return customer


def _default_payment_method(
    acct: Account, customer: Obj, params: Params, *, token: str | None = None, attached: Obj | None = None
) -> None:
    settings = params.nested("invoice_settings")
    if settings is None:
        return
    settings.allow(("default_payment_method", "custom_fields", "footer", "rendering_options"))
    value = settings.text("default_payment_method")
    if value is None:
        if "default_payment_method" in settings:
            customer["invoice_settings"]["default_payment_method"] = None
        return
    if attached is not None and value == token:
        pm = attached  # the test token named twice means the card just attached
    else:
        param = settings.name("default_payment_method")
        pm = payments.resolve_payment_method(acct, value, customer_id=customer["id"], param=param)
    customer["invoice_settings"]["default_payment_method"] = pm["id"]


def update_customer(acct: Account, customer: Obj, params: Params) -> Obj:
    params.allow(("email", "name", "description", "phone", "metadata", "invoice_settings", "balance"))
    before = snapshot(customer)
    for key, limit in (("email", 512), ("name", 256), ("description", 350), ("phone", 20)):
        if key in params:
            customer[key] = params.text(key, max_length=limit)
    if "balance" in params:
        customer["balance"] = params.integer("balance")
    customer["metadata"] = merge_metadata(customer["metadata"], params.metadata())
    _default_payment_method(acct, customer, params)
    acct.emit_changes("customer.updated", customer, before)
    return customer


def delete_customer(acct: Account, customer: Obj) -> Obj:
    """Delete a customer: its live subscriptions end now (``customer.subscription.deleted``)."""
    now = acct.now(customer["id"])
    for sub in acct.store.all("subscription"):
        if sub["customer"] == customer["id"] and sub["status"] in (*lifecycle.LIVE, "incomplete"):
            lifecycle.mark_canceled(acct, sub, at=now, reason="cancellation_requested")
    acct.emit("customer.deleted", customer)
    stub = objects.deleted("customer", customer["id"])
    acct.store.delete(customer, stub)
    return stub


def fail_next_payments(acct: Account, customer: Obj, params: Params) -> Obj:
    """Test helper: the customer's next ``count`` payment attempts are declined."""
    params.allow(("count", "decline_code"))
    count = params.integer("count", minimum=0, maximum=100)
    decline_code = params.choice(
        "decline_code", ("generic_decline", "insufficient_funds", "expired_card", "do_not_honor", "lost_card")
    )
    acct.forced_failures[customer["id"]] = (1 if count is None else count, decline_code or "generic_decline")
    return customer


def dispute_charge(acct: Account, charge: Obj, params: Params) -> Obj:
    """Test helper: the card holder disputes ``charge`` (``charge.dispute.created``)."""
    params.allow(("amount", "reason"))
    reason = params.choice(
        "reason", ("fraudulent", "duplicate", "product_not_received", "subscription_canceled", "general")
    )
    return payments.open_dispute(
        acct, charge, amount=params.integer("amount", minimum=1), reason=reason or "fraudulent"
    )


# -- products and prices --------------------------------------------------------------------------


def create_product(acct: Account, params: Params) -> Obj:
    params.allow(("id", "name", "description", "metadata", "active"))
    product_id = params.text("id") or new_id("prod", 14)
    if acct.store.find(product_id) is not None:
        raise invalid(f"Product already exists: {product_id}", param="id", code="resource_already_exists")
    product = objects.product(
        product_id=product_id,
        name=params.req("name"),
        created=acct.now(),
        default_price=None,
        metadata=params.metadata() or {},
    )
    product.update(description=params.text("description"), active=params.flag("active") is not False)
    acct.store.add(product)
    acct.emit("product.created", product)
    return product


def create_price(acct: Account, params: Params) -> Obj:
    params.allow(
        (
            "product",
            "product_data",
            "unit_amount",
            "currency",
            "recurring",
            "lookup_key",
            "transfer_lookup_key",
            "nickname",
            "metadata",
            "active",
        )
    )
    product_id = params.text("product")
    product_data = params.nested("product_data")
    if product_id:
        acct.store.get(product_id, "product", param="product")
    elif product_data is not None:
        product_id = create_product(acct, Params({"name": product_data.allow(("name",)).req("name")}))["id"]
    else:
        raise invalid("Missing required param: product.", param="product", code="parameter_missing")
    recurring = params.nested("recurring")
    interval, count = None, 1
    if recurring is not None:
        recurring.allow(("interval", "interval_count", "usage_type"))
        interval = recurring.choice("interval", INTERVALS, required=True)
        count = recurring.integer("interval_count", minimum=1, maximum=12) or 1
    lookup_key = params.text("lookup_key", max_length=200)
    if lookup_key:
        _claim_lookup_key(acct, lookup_key, transfer=bool(params.flag("transfer_lookup_key")))
    price = objects.price(
        price_id=new_id("price"),
        product_id=product_id,
        unit_amount=params.integer("unit_amount", required=True, minimum=0) or 0,
        currency=params.req("currency", max_length=3).lower(),
        interval=interval,
        interval_count=count,
        created=acct.now(),
        lookup_key=lookup_key,
        nickname=params.text("nickname"),
        metadata=params.metadata() or {},
    )
    price["active"] = params.flag("active") is not False
    acct.store.add(price)
    acct.emit("price.created", price)
    return price


def _claim_lookup_key(acct: Account, lookup_key: str, *, transfer: bool) -> None:
    for other in acct.store.all("price"):
        if other["lookup_key"] == lookup_key:
            if not transfer:
                raise invalid(f"A price ({other['id']}) already uses that lookup key.", param="lookup_key")
            other["lookup_key"] = None


def update_price(acct: Account, price: Obj, params: Params) -> Obj:
    params.allow(("active", "metadata", "nickname", "lookup_key", "transfer_lookup_key"))
    before = snapshot(price)
    if "active" in params:
        price["active"] = bool(params.flag("active"))
    if "nickname" in params:
        price["nickname"] = params.text("nickname")
    lookup_key = params.text("lookup_key", max_length=200)
    if lookup_key and lookup_key != price["lookup_key"]:
        _claim_lookup_key(acct, lookup_key, transfer=bool(params.flag("transfer_lookup_key")))
        price["lookup_key"] = lookup_key
    price["metadata"] = merge_metadata(price["metadata"], params.metadata())
    acct.emit_changes("price.updated", price, before)
    return price


def select_prices(acct: Account, params: Params) -> list[Obj]:
    """``GET /v1/prices`` filters: ``active``, ``product``, ``type``, ``currency``, ``lookup_keys[]``."""
    params.allow(
        (
            "active",
            "product",
            "type",
            "currency",
            "lookup_keys",
            "limit",
            "starting_after",
            "ending_before",
            "recurring",
        )
    )
    active = params.flag("active")
    product = params.text("product")
    kind = params.choice("type", ("one_time", "recurring"))
    currency = params.text("currency")
    lookup_keys = params.strings("lookup_keys")
    return [
        price
        for price in acct.store.all("price")
        if (active is None or price["active"] == active)
        and (product is None or price["product"] == product)
        and (kind is None or price["type"] == kind)
        and (currency is None or price["currency"] == currency)
        and (not lookup_keys or price["lookup_key"] in lookup_keys)
    ]


# -- webhook endpoints ----------------------------------------------------------------------------


def create_endpoint(
    acct: Account,
    params: Params | None = None,
    *,
    url: str | None = None,
    secret: str | None = None,
    enabled_events: list[str] | None = None,
) -> Obj:
    """A webhook endpoint; the answer to its creation alone carries its ``secret``."""
    description: str | None = None
    metadata: dict[str, str] = {}
    if params is not None:
        params.allow(("url", "enabled_events", "description", "metadata", "api_version", "connect"))
        url = params.req("url", max_length=2048)
        enabled_events = params.strings("enabled_events")
        if not enabled_events:
            raise invalid("Missing required param: enabled_events.", param="enabled_events", code="parameter_missing")
        description = params.text("description")
        metadata = params.metadata() or {}
    assert url is not None
    if not url.startswith(("http://", "https://")):
        raise invalid("Invalid URL: must be http or https", param="url", code="url_invalid")
    endpoint = acct.store.add(
        objects.webhook_endpoint(
            endpoint_id=new_id("we"),
            url=url,
            enabled_events=enabled_events or ["*"],
            description=description,
            metadata=metadata,
            created=acct.now(),
        )
    )
    acct.endpoint_secrets[endpoint["id"]] = secret or f"whsec_{secrets.token_hex(24)}"
    return endpoint


def update_endpoint(acct: Account, endpoint: Obj, params: Params) -> Obj:
    params.allow(("url", "enabled_events", "description", "metadata", "disabled"))
    if "url" in params:
        endpoint["url"] = params.req("url", max_length=2048)
    if "enabled_events" in params:
        endpoint["enabled_events"] = params.strings("enabled_events") or ["*"]
    if "description" in params:
        endpoint["description"] = params.text("description")
    if "disabled" in params:
        endpoint["status"] = "disabled" if params.flag("disabled") else "enabled"
    endpoint["metadata"] = merge_metadata(endpoint["metadata"], params.metadata())
    return endpoint


def delete_endpoint(acct: Account, endpoint: Obj) -> Obj:
    stub = objects.deleted("webhook_endpoint", endpoint["id"])
    acct.store.delete(endpoint, stub)
    acct.endpoint_secrets.pop(endpoint["id"], None)
    return stub
