"""Every API endpoint the emulator serves: method + path -> a function of the account and the parameters."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from infra.local.stripe import checkout, clock, credit_notes, invoices, payments, previews, resources, subscriptions
from infra.local.stripe.account import Account
from infra.local.stripe.errors import invalid
from infra.local.stripe.objects import list_object
from infra.local.stripe.params import Params
from infra.local.stripe.store import Obj, created_filter, page

Handler = Callable[[Account, Params, tuple[str, ...]], Obj]
PAGING = ("limit", "starting_after", "ending_before")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    template: str


ROUTES: list[Route] = []


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    pattern = re.compile("^" + re.sub(r"\{[a-z_]+\}", r"([^/]+)", template) + "$")

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, pattern, handler, template))
        return handler

    return register


def find(method: str, path: str) -> tuple[Route, tuple[str, ...]] | None:
    for candidate in ROUTES:
        match = candidate.pattern.match(path)
        if match and candidate.method == method:
            return candidate, match.groups()
    return None


def listing(
    acct: Account,
    params: Params,
    kind: str,
    url: str,
    *,
    filters: Iterable[str] = (),
    keep: Callable[[Obj], bool] = lambda obj: True,
) -> Obj:
    """A paged list of ``kind``; each name in ``filters`` must equal the object's field of that name."""
    filters = tuple(filters)
    params.allow((*PAGING, "created", *filters))
    wanted = {name: params.text(name) for name in filters}
    created = created_filter(params)
    items = [
        obj
        for obj in acct.store.all(kind)
        if keep(obj) and created(obj) and all(v is None or obj.get(k) == v for k, v in wanted.items())
    ]
    return page(items, params, url)


def include(acct: Account) -> Callable[[Obj, str], Any]:
    """Fields Stripe returns only when expanded: ``invoice.payments``, ``checkout.session.line_items``."""

    def included(node: Obj, key: str) -> Any:
        if node.get("object") == "invoice" and key == "payments":
            payments_of = [p for p in acct.store.all("invoice_payment") if p["invoice"] == node["id"]]
            return list_object(payments_of, f"/v1/invoices/{node['id']}/payments")
        if node.get("object") == "checkout.session" and key == "line_items":
            session = acct.store.get(node["id"], "checkout.session")
            return list_object(checkout.line_items(acct, session), f"/v1/checkout/sessions/{node['id']}/line_items")
        return None

    return included


# -- customers ------------------------------------------------------------------------------------


@route("POST", "/v1/customers")
def _create_customer(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return resources.create_customer(acct, p)


@route("GET", "/v1/customers")
def _list_customers(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return listing(acct, p, "customer", "/v1/customers", filters=("email", "test_clock"))


@route("GET", "/v1/customers/{id}")
def _get_customer(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.retrieve(ids[0], "customer")


@route("POST", "/v1/customers/{id}")
def _update_customer(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return resources.update_customer(acct, acct.store.get(ids[0], "customer"), p)


@route("DELETE", "/v1/customers/{id}")
def _delete_customer(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return resources.delete_customer(acct, acct.store.get(ids[0], "customer"))


@route("GET", "/v1/customers/{id}/payment_methods")
def _customer_payment_methods(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    acct.store.get(ids[0], "customer")
    return listing(acct, p, "payment_method", f"/v1/customers/{ids[0]}/payment_methods", keep=_of(ids[0]))


def _of(customer_id: str) -> Callable[[Obj], bool]:
    return lambda obj: obj.get("customer") == customer_id


# -- products, prices, payment methods ------------------------------------------------------------


@route("POST", "/v1/products")
def _create_product(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return resources.create_product(acct, p)


@route("GET", "/v1/products")
def _list_products(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow((*PAGING, "active", "ids", "created"))
    active, wanted = p.flag("active"), p.strings("ids")
    items = [
        product
        for product in acct.store.all("product")
        if (active is None or product["active"] == active) and (not wanted or product["id"] in wanted)
    ]
    return page(items, p, "/v1/products")


@route("GET", "/v1/products/{id}")
def _get_product(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.retrieve(ids[0], "product")


@route("POST", "/v1/prices")
def _create_price(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return resources.create_price(acct, p)


@route("GET", "/v1/prices")
def _list_prices(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return page(resources.select_prices(acct, p), p, "/v1/prices")


@route("GET", "/v1/prices/{id}")
def _get_price(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "price")


@route("POST", "/v1/prices/{id}")
def _update_price(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return resources.update_price(acct, acct.store.get(ids[0], "price"), p)


@route("GET", "/v1/payment_methods")
def _list_payment_methods(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    customer = p.req("customer")
    acct.store.get(customer, "customer", param="customer")
    return listing(acct, p, "payment_method", "/v1/payment_methods", filters=("customer", "type"))


@route("GET", "/v1/payment_methods/{id}")
def _get_payment_method(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "payment_method")


@route("POST", "/v1/payment_methods/{id}/attach")
def _attach_payment_method(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(("customer",))
    customer = p.req("customer")
    return payments.resolve_payment_method(acct, ids[0], customer_id=customer, param="id")


# -- checkout and portal --------------------------------------------------------------------------


@route("POST", "/v1/checkout/sessions")
def _create_session(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return checkout.create_session(acct, p)


@route("GET", "/v1/checkout/sessions")
def _list_sessions(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return listing(acct, p, "checkout.session", "/v1/checkout/sessions", filters=("customer", "subscription", "status"))


@route("GET", "/v1/checkout/sessions/{id}")
def _get_session(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "checkout.session")


@route("GET", "/v1/checkout/sessions/{id}/line_items")
def _session_line_items(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(PAGING)
    session = acct.store.get(ids[0], "checkout.session")
    return page(checkout.line_items(acct, session), p, f"/v1/checkout/sessions/{ids[0]}/line_items")


@route("POST", "/v1/checkout/sessions/{id}/expire")
def _expire_session(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return checkout.expire(acct, acct.store.get(ids[0], "checkout.session"))


@route("POST", "/v1/billing_portal/sessions")
def _create_portal(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return checkout.create_portal_session(acct, p)


@route("GET", "/v1/billing_portal/configurations")
def _list_portal_configurations(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return listing(acct, p, "billing_portal.configuration", "/v1/billing_portal/configurations")


@route("GET", "/v1/billing_portal/configurations/{id}")
def _get_portal_configuration(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "billing_portal.configuration")


# -- subscriptions --------------------------------------------------------------------------------


@route("POST", "/v1/subscriptions")
def _create_subscription(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return subscriptions.create(acct, p)


@route("GET", "/v1/subscriptions")
def _list_subscriptions(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    statuses = ("active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due", "paused")
    p.allow((*PAGING, "customer", "status", "price", "test_clock", "created", "collection_method"))
    status = p.choice("status", (*statuses, "trialing", "unpaid"))
    price = p.text("price")

    def keep(sub: Obj) -> bool:
        if status is None:
            shown = sub["status"] not in ("canceled", "incomplete_expired")  # Stripe's default hides ended ones
        elif status == "ended":
            shown = sub["status"] in ("canceled", "incomplete_expired")
        else:
            shown = status == "all" or sub["status"] == status
        return shown and (price is None or any(i["price"]["id"] == price for i in sub["items"]["data"]))

    wanted = {"customer": p.text("customer"), "test_clock": p.text("test_clock")}
    created = created_filter(p)
    items = [
        sub
        for sub in acct.store.all("subscription")
        if keep(sub) and created(sub) and all(v is None or sub[k] == v for k, v in wanted.items())
    ]
    return page(items, p, "/v1/subscriptions")


@route("GET", "/v1/subscriptions/{id}")
def _get_subscription(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "subscription")


@route("POST", "/v1/subscriptions/{id}")
def _update_subscription(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return subscriptions.update(acct, acct.store.get(ids[0], "subscription"), p)


@route("DELETE", "/v1/subscriptions/{id}")
def _cancel_subscription(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return subscriptions.cancel(acct, acct.store.get(ids[0], "subscription"), p)


@route("GET", "/v1/subscription_items")
def _list_subscription_items(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow((*PAGING, "subscription"))
    sub = acct.store.get(p.req("subscription"), "subscription", param="subscription")
    return page(list(sub["items"]["data"]), p, f"/v1/subscription_items?subscription={sub['id']}")


@route("GET", "/v1/subscription_items/{id}")
def _get_subscription_item(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    for sub in acct.store.all("subscription"):
        for item in sub["items"]["data"]:
            if item["id"] == ids[0]:
                return dict(item)
    return acct.store.get(ids[0], "subscription_item")


# -- invoices -------------------------------------------------------------------------------------


@route("POST", "/v1/invoices/create_preview")
def _preview_invoice(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return previews.preview(acct, p)


@route("GET", "/v1/invoices")
def _list_invoices(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.choice("status", ("draft", "open", "paid", "uncollectible", "void"))
    return listing(
        acct, p, "invoice", "/v1/invoices", filters=("customer", "subscription", "status", "collection_method")
    )


@route("GET", "/v1/invoices/{id}")
def _get_invoice(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "invoice")


@route("GET", "/v1/invoices/{id}/lines")
def _invoice_lines(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(PAGING)
    invoice = acct.store.get(ids[0], "invoice")
    return page(list(invoice["lines"]["data"]), p, f"/v1/invoices/{ids[0]}/lines")


@route("POST", "/v1/invoices/{id}/pay")
def _pay_invoice(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(("payment_method", "paid_out_of_band", "off_session", "forgive", "source"))
    invoice = acct.store.get(ids[0], "invoice")
    return invoices.pay_now(acct, invoice, p.text("payment_method"), out_of_band=bool(p.flag("paid_out_of_band")))


@route("POST", "/v1/invoices/{id}/finalize")
def _finalize_invoice(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(("auto_advance",))
    invoice = acct.store.get(ids[0], "invoice")
    if invoice["status"] != "draft":
        raise invalid("This invoice is already finalized.", code="invoice_not_editable")
    invoices.finalize(acct, invoice)
    return invoice


@route("POST", "/v1/invoices/{id}/void")
def _void_invoice(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    invoice = acct.store.get(ids[0], "invoice")
    if invoice["status"] != "open":
        raise invalid(
            f"You can only void an open invoice; this one is {invoice['status']}.", code="invoice_not_editable"
        )
    invoices.void(acct, invoice)
    return invoice


@route("GET", "/v1/invoiceitems")
def _list_invoice_items(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow((*PAGING, "customer", "invoice", "pending", "created"))
    pending = p.flag("pending")
    return listing(
        acct,
        Params({k: v for k, v in p.raw.items() if k != "pending"}),
        "invoiceitem",
        "/v1/invoiceitems",
        filters=("customer", "invoice"),
        keep=lambda item: pending is None or (item["invoice"] is None) == pending,
    )


@route("GET", "/v1/invoiceitems/{id}")
def _get_invoice_item(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "invoiceitem")


@route("GET", "/v1/invoice_payments")
def _list_invoice_payments(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return listing(acct, p, "invoice_payment", "/v1/invoice_payments", filters=("invoice",))


@route("GET", "/v1/invoice_payments/{id}")
def _get_invoice_payment(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "invoice_payment")


# -- payments, refunds, credit notes, disputes -----------------------------------------------------


@route("GET", "/v1/payment_intents")
def _list_intents(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return listing(acct, p, "payment_intent", "/v1/payment_intents", filters=("customer",))


@route("GET", "/v1/payment_intents/{id}")
def _get_intent(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(("client_secret",))
    return acct.store.get(ids[0], "payment_intent")


@route("GET", "/v1/charges")
def _list_charges(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return listing(acct, p, "charge", "/v1/charges", filters=("customer", "payment_intent"))


@route("GET", "/v1/charges/{id}")
def _get_charge(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "charge")


@route("POST", "/v1/refunds")
def _create_refund(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return credit_notes.create_refund(acct, p)


@route("GET", "/v1/refunds")
def _list_refunds(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return listing(acct, p, "refund", "/v1/refunds", filters=("charge", "payment_intent"))


@route("GET", "/v1/refunds/{id}")
def _get_refund(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "refund")


@route("POST", "/v1/credit_notes")
def _create_credit_note(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return credit_notes.create(acct, p)


@route("GET", "/v1/credit_notes")
def _list_credit_notes(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return listing(acct, p, "credit_note", "/v1/credit_notes", filters=("customer", "invoice"))


@route("GET", "/v1/credit_notes/{id}")
def _get_credit_note(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "credit_note")


@route("GET", "/v1/credit_notes/{id}/lines")
def _credit_note_lines(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(PAGING)
    note = acct.store.get(ids[0], "credit_note")
    return page(list(note["lines"]["data"]), p, f"/v1/credit_notes/{ids[0]}/lines")


@route("GET", "/v1/disputes")
def _list_disputes(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return listing(acct, p, "dispute", "/v1/disputes", filters=("charge", "payment_intent"))


@route("GET", "/v1/disputes/{id}")
def _get_dispute(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "dispute")


# -- events and webhook endpoints -----------------------------------------------------------------


@route("GET", "/v1/events")
def _list_events(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow((*PAGING, "type", "types", "created", "delivery_success"))
    wanted = p.text("type")
    types = set(p.strings("types"))
    if wanted and types:
        raise invalid("You may only specify one of these parameters: type, types.")
    pattern = re.compile("^" + re.escape(wanted).replace(r"\*", ".*") + "$") if wanted else None
    created = created_filter(p)
    items = [
        event
        for event in acct.store.all("event")
        if created(event)
        and (pattern is None or pattern.match(event["type"]))
        and (not types or event["type"] in types)
    ]
    return page(items, p, "/v1/events")


@route("GET", "/v1/events/{id}")
def _get_event(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.get(ids[0], "event")


@route("POST", "/v1/webhook_endpoints")
def _create_endpoint(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    endpoint = resources.create_endpoint(acct, p)
    return {**endpoint, "secret": acct.endpoint_secrets[endpoint["id"]]}


@route("GET", "/v1/webhook_endpoints")
def _list_endpoints(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return listing(acct, p, "webhook_endpoint", "/v1/webhook_endpoints")


@route("GET", "/v1/webhook_endpoints/{id}")
def _get_endpoint(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.retrieve(ids[0], "webhook_endpoint")


@route("POST", "/v1/webhook_endpoints/{id}")
def _update_endpoint(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return resources.update_endpoint(acct, acct.store.get(ids[0], "webhook_endpoint"), p)


@route("DELETE", "/v1/webhook_endpoints/{id}")
def _delete_endpoint(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return resources.delete_endpoint(acct, acct.store.get(ids[0], "webhook_endpoint"))


# -- test helpers ---------------------------------------------------------------------------------


@route("POST", "/v1/test_helpers/test_clocks")
def _create_clock(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return clock.create(acct, p)


@route("GET", "/v1/test_helpers/test_clocks")
def _list_clocks(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return listing(acct, p, "test_helpers.test_clock", "/v1/test_helpers/test_clocks")


@route("GET", "/v1/test_helpers/test_clocks/{id}")
def _get_clock(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return acct.store.retrieve(ids[0], "test_helpers.test_clock")


@route("DELETE", "/v1/test_helpers/test_clocks/{id}")
def _delete_clock(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    p.allow(())
    return clock.delete(acct, acct.store.get(ids[0], "test_helpers.test_clock"))


@route("POST", "/v1/test_helpers/test_clocks/{id}/advance")
def _advance_clock(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return clock.advance(acct, acct.store.get(ids[0], "test_helpers.test_clock"), p)


@route("POST", "/v1/test_helpers/customers/{id}/fail_next_payment")
def _fail_next_payment(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return resources.fail_next_payments(acct, acct.store.get(ids[0], "customer"), p)


@route("POST", "/v1/test_helpers/charges/{id}/dispute")
def _dispute_charge(acct: Account, p: Params, ids: tuple[str, ...]) -> Obj:
    return resources.dispute_charge(acct, acct.store.get(ids[0], "charge"), p)
