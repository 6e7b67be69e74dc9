"""``StripeClient``: billing's one way to Stripe (the ``Stripe`` port), and the only module that
imports ``stripe`` (on first use, not at import: it is a fifth of a cold start).

The API version is pinned here, once, and sent on every call: ``API_VERSION``. Every write carries
the idempotency key the service derived from the operation, so the SDK's own retries (and ours)
never make a second object. Objects are read as mappings into the domain's snapshots by the
``*_of`` functions below, which the fidelity tests run on the SDK's typed objects.

The same code talks to the local Stripe emulator (``api_base``) and, with a real ``sk_test_`` key
and no ``api_base``, to Stripe's test mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from functions.billing.domain.errors import StripeRefused, StripeUnavailable
from functions.billing.domain.snapshots import (
    ChargeSnapshot,
    CheckoutSnapshot,
    CreditNoteSnapshot,
    DisputeSnapshot,
    InvoiceLine,
    InvoicePreview,
    InvoiceSnapshot,
    PreviewLine,
    RefundSnapshot,
    SubscriptionSnapshot,
)
from keel.errors import Conflict, NotFound

# ruff: noqa: PLC0415 - stripe is imported on first use, on purpose

#: The Stripe API version billing speaks: every request sends it, and events of another version are
#: processed by fetching their object again at this one. To upgrade, see the README ("Stripe API version").
API_VERSION = "2026-10-28.endive"
#: Behaviour of plan changes: the difference is invoiced and charged at once.
PRORATION = "always_invoice"


class StripeRejected(Conflict):
    """Stripe refused the request as it stands (an object in a state that does not allow it)."""

    code = "stripe_rejected"


# -- reading Stripe's objects -------------------------------------------------------------------


def _time(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


def _maybe_time(value: Any) -> datetime | None:
    return _time(value) if value is not None else None


def _id(value: Any) -> str | None:
    """An id, whether the field holds it or the object it was expanded into."""
    if value is None:
        return None
    return str(value) if isinstance(value, str) else str(value["id"])


def _get(obj: Mapping[str, Any], key: str) -> Any:
    return obj.get(key)


def _plain(obj: Any) -> dict[str, Any]:
    """A Stripe object (the SDK's ``StripeObject``, or its JSON) as plain dicts and lists."""
    return dict(obj.to_dict()) if hasattr(obj, "to_dict") else dict(obj)


def subscription_of(obj: Any) -> SubscriptionSnapshot:
    obj = _plain(obj)
    item = obj["items"]["data"][0]
    details = _get(obj, "cancellation_details") or {}
    return SubscriptionSnapshot(
        id=str(obj["id"]),
        customer_id=str(_id(obj["customer"])),
        tenant_id=(_get(obj, "metadata") or {}).get("tenant_id"),
        status=str(obj["status"]),
        price_id=str(item["price"]["id"]),
        item_id=str(item["id"]),
        quantity=int(item["quantity"] or 1),
        current_period_start=_time(item["current_period_start"]),
        current_period_end=_time(item["current_period_end"]),
        trial_end=_maybe_time(obj["trial_end"]),
        cancel_at_period_end=bool(obj["cancel_at_period_end"]),
        canceled_at=_maybe_time(obj["canceled_at"]),
        ended_at=_maybe_time(obj["ended_at"]),
        cancellation_reason=_get(details, "reason"),
        latest_invoice_id=_id(obj["latest_invoice"]),
        created=_time(obj["created"]),
    )


def _line_of(line: Mapping[str, Any]) -> InvoiceLine:
    parent = _get(line, "parent") or {}
    details = _get(parent, "subscription_item_details") or _get(parent, "invoice_item_details") or {}
    pricing = _get(line, "pricing") or {}
    price_details = _get(pricing, "price_details") or {}
    return InvoiceLine(
        id=str(line["id"]),
        description=str(line["description"] or ""),
        amount=int(line["amount"]),
        currency=str(line["currency"]),
        period_start=_time(line["period"]["start"]),
        period_end=_time(line["period"]["end"]),
        proration=bool(_get(details, "proration")),
        price_id=_id(_get(price_details, "price")),
        quantity=line["quantity"],
    )


def _payment_intents(obj: Mapping[str, Any]) -> tuple[str, ...]:
    payments = _get(obj, "payments")
    if not isinstance(payments, Mapping):  # not expanded
        return ()
    found = []
    for record in payments["data"]:
        payment = record["payment"]
        intent = _id(_get(payment, "payment_intent"))
        if intent:
            found.append(intent)
    return tuple(found)


def invoice_of(obj: Any) -> InvoiceSnapshot:
    obj = _plain(obj)
    parent = _get(obj, "parent") or {}
    sub_details = _get(parent, "subscription_details") or {}
    transitions = _get(obj, "status_transitions") or {}
    return InvoiceSnapshot(
        id=str(obj["id"]),
        customer_id=str(_id(obj["customer"])),
        subscription_id=_id(_get(sub_details, "subscription")),
        number=obj["number"],
        status=str(obj["status"]),
        billing_reason=obj["billing_reason"],
        currency=str(obj["currency"]),
        subtotal=int(obj["subtotal"]),
        total=int(obj["total"]),
        amount_due=int(obj["amount_due"]),
        amount_paid=int(obj["amount_paid"]),
        amount_remaining=int(obj["amount_remaining"]),
        post_payment_credit_notes_amount=int(obj["post_payment_credit_notes_amount"]),
        attempt_count=int(obj["attempt_count"]),
        next_payment_attempt=_maybe_time(obj["next_payment_attempt"]),
        hosted_invoice_url=obj["hosted_invoice_url"],
        invoice_pdf=obj["invoice_pdf"],
        period_start=_time(obj["period_start"]),
        period_end=_time(obj["period_end"]),
        created=_time(obj["created"]),
        finalized_at=_maybe_time(_get(transitions, "finalized_at")),
        paid_at=_maybe_time(_get(transitions, "paid_at")),
        payment_intent_ids=_payment_intents(obj),
        lines=tuple(_line_of(line) for line in obj["lines"]["data"]),
    )


def checkout_of(obj: Any) -> CheckoutSnapshot:
    obj = _plain(obj)
    sub = obj["subscription"]
    return CheckoutSnapshot(
        id=str(obj["id"]),
        tenant_id=obj["client_reference_id"],
        customer_id=_id(obj["customer"]),
        status=str(obj["status"]),
        subscription=subscription_of(sub) if isinstance(sub, Mapping) else None,
    )


def refund_of(obj: Any) -> RefundSnapshot:
    obj = _plain(obj)
    return RefundSnapshot(
        id=str(obj["id"]),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]),
        reason=obj["reason"],
        status=str(obj["status"]),
        created=_time(obj["created"]),
    )


def charge_of(obj: Any) -> ChargeSnapshot:
    obj = _plain(obj)
    refunds = _get(obj, "refunds")
    return ChargeSnapshot(
        id=str(obj["id"]),
        customer_id=_id(obj["customer"]),
        payment_intent_id=_id(obj["payment_intent"]),
        amount=int(obj["amount"]),
        amount_refunded=int(obj["amount_refunded"]),
        currency=str(obj["currency"]),
        refunds=tuple(refund_of(r) for r in refunds["data"]) if isinstance(refunds, Mapping) else (),
    )


def credit_note_of(obj: Any) -> CreditNoteSnapshot:
    obj = _plain(obj)
    return CreditNoteSnapshot(
        id=str(obj["id"]),
        invoice_id=str(_id(obj["invoice"])),
        number=str(obj["number"]),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]),
        refund_ids=tuple(str(_id(r["refund"])) for r in obj["refunds"] if _id(r["refund"])),
        pdf=obj["pdf"],
        created=_time(obj["created"]),
        request=(_get(obj, "metadata") or {}).get("keel_request"),
    )


def dispute_of(obj: Any) -> DisputeSnapshot:
    obj = _plain(obj)
    charge = obj["charge"]
    expanded = charge if isinstance(charge, Mapping) else {}
    return DisputeSnapshot(
        id=str(obj["id"]),
        charge_id=str(_id(charge)),
        customer_id=_id(_get(expanded, "customer")),
        payment_intent_id=_id(_get(expanded, "payment_intent")) or _id(_get(obj, "payment_intent")),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]),
        reason=str(obj["reason"]),
        status=str(obj["status"]),
        created=_time(obj["created"]),
    )


def preview_of(obj: Any, at: datetime) -> InvoicePreview:
    obj = _plain(obj)
    lines = tuple(
        PreviewLine(description=line.description, amount=line.amount, proration=line.proration)
        for line in (_line_of(x) for x in obj["lines"]["data"])
    )
    return InvoicePreview(
        currency=str(obj["currency"]), total=int(obj["total"]), amount_due=int(obj["amount_due"]), at=at, lines=lines
    )


# -- the client ---------------------------------------------------------------------------------


class StripeClient:
    """The ``Stripe`` port over the official SDK, at ``API_VERSION``."""

    def __init__(
        self,
        *,
        api_key: Callable[[], str],
        api_base: str | None = None,
        timeout_seconds: float = 8.0,
        max_network_retries: int = 2,
        test_clocks: bool = False,
    ) -> None:
        self._test_clocks = test_clocks
        self._api_key = api_key
        self._api_base = api_base or None
        self._timeout = timeout_seconds
        self._retries = max_network_retries

    @cached_property
    def _sdk(self) -> Any:
        import stripe

        http = stripe.RequestsClient(timeout=self._timeout)
        return stripe.StripeClient(
            self._api_key(),
            stripe_version=API_VERSION,
            base_addresses={"api": self._api_base} if self._api_base else None,
            max_network_retries=self._retries,
            http_client=http,
        ).v1

    @contextmanager
    def _call(self) -> Iterator[None]:
        import stripe

        try:
            yield
        except stripe.CardError as exc:
            raise StripeRefused(exc.user_message or "the card was declined") from None
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise StripeUnavailable(f"Stripe did not answer: {type(exc).__name__}") from None
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                raise NotFound("no such object at Stripe") from None
            raise StripeRejected(exc.user_message or "Stripe refused the request") from None
        except stripe.StripeError as exc:
            if exc.http_status is None or exc.http_status >= 500 or exc.http_status == 409:
                raise StripeUnavailable(f"Stripe answered {exc.http_status}") from None
            raise StripeRejected(exc.user_message or "Stripe refused the request") from None

    @staticmethod
    def _options(idempotency_key: str) -> dict[str, str]:
        return {"idempotency_key": idempotency_key}

    # -- writes ---------------------------------------------------------------------------------

    def create_customer(self, *, tenant_id: str, email: str | None, idempotency_key: str) -> str:
        params: dict[str, Any] = {"metadata": {"tenant_id": tenant_id}}
        if email:
            params["email"] = email
        with self._call():
            if self._test_clocks:  # locally: the tenant's own clock, which `keel stripe advance` moves
                clock = self._sdk.test_helpers.test_clocks.create(
                    params={"frozen_time": int(datetime.now(UTC).timestamp()), "name": tenant_id},
                    options=self._options(f"{idempotency_key}:test-clock"),
                )
                params["test_clock"] = clock.id
            return str(self._sdk.customers.create(params=params, options=self._options(idempotency_key)).id)

    def create_checkout(
        self,
        *,
        tenant_id: str,
        customer_id: str,
        price_id: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> str:
        params = {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": tenant_id,
            "line_items": [{"price": price_id, "quantity": 1}],
            "subscription_data": {"metadata": {"tenant_id": tenant_id}},
            "metadata": {"tenant_id": tenant_id},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        with self._call():
            session = self._sdk.checkout.sessions.create(params=params, options=self._options(idempotency_key))
        return str(session.url)

    def create_portal(self, *, customer_id: str, return_url: str, idempotency_key: str) -> str:
        with self._call():
            session = self._sdk.billing_portal.sessions.create(
                params={"customer": customer_id, "return_url": return_url}, options=self._options(idempotency_key)
            )
        return str(session.url)

    def change_plan(
        self, *, subscription_id: str, item_id: str, price_id: str, at: datetime, idempotency_key: str
    ) -> SubscriptionSnapshot:
        params = {
            "items": [{"id": item_id, "price": price_id}],
            "proration_behavior": PRORATION,
            "proration_date": int(at.timestamp()),
            "payment_behavior": "pending_if_incomplete",
        }
        with self._call():
            sub = self._sdk.subscriptions.update(subscription_id, params=params, options=self._options(idempotency_key))
        return subscription_of(sub)

    def cancel_at_period_end(self, *, subscription_id: str, idempotency_key: str) -> SubscriptionSnapshot:
        with self._call():
            sub = self._sdk.subscriptions.update(
                subscription_id, params={"cancel_at_period_end": True}, options=self._options(idempotency_key)
            )
        return subscription_of(sub)

    def cancel_now(self, *, subscription_id: str, idempotency_key: str) -> SubscriptionSnapshot:
        with self._call():
            sub = self._sdk.subscriptions.cancel(
                subscription_id,
                params={"prorate": False, "invoice_now": False},
                options=self._options(idempotency_key),
            )
        return subscription_of(sub)

    def refund(
        self, *, invoice_id: str, amount: int, reason: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> CreditNoteSnapshot:
        params = {
            "invoice": invoice_id,
            "amount": amount,
            "refund_amount": amount,
            "reason": reason,
            "metadata": dict(metadata),
        }
        with self._call():
            note = self._sdk.credit_notes.create(params=params, options=self._options(idempotency_key))
        return credit_note_of(note)

    # -- reads (always afresh, at the pinned version) -------------------------------------------

    def now_for(self, customer_id: str) -> datetime:
        if not self._test_clocks:  # only the local runtime (and tests) put customers on test clocks
            return datetime.now(UTC)
        with self._call():
            customer = self._sdk.customers.retrieve(customer_id, params={"expand": ["test_clock"]})
        clock = _plain(customer).get("test_clock")
        return _time(clock["frozen_time"]) if isinstance(clock, dict) else datetime.now(UTC)

    def preview_change(self, *, subscription_id: str, item_id: str, price_id: str, at: datetime) -> InvoicePreview:
        params = {
            "subscription": subscription_id,
            "subscription_details": {
                "items": [{"id": item_id, "price": price_id}],
                "proration_behavior": PRORATION,
                "proration_date": int(at.timestamp()),
            },
        }
        with self._call():
            return preview_of(self._sdk.invoices.create_preview(params=params), at)

    def subscription(self, subscription_id: str) -> SubscriptionSnapshot:
        with self._call():
            return subscription_of(self._sdk.subscriptions.retrieve(subscription_id))

    def latest_subscription(self, customer_id: str) -> SubscriptionSnapshot | None:
        with self._call():
            found = self._sdk.subscriptions.list(params={"customer": customer_id, "status": "all", "limit": 1})
        return subscription_of(found.data[0]) if found.data else None

    def invoice(self, invoice_id: str) -> InvoiceSnapshot:
        with self._call():
            return invoice_of(self._sdk.invoices.retrieve(invoice_id, params={"expand": ["payments"]}))

    def credit_notes(self, invoice_id: str) -> list[CreditNoteSnapshot]:
        with self._call():
            found = self._sdk.credit_notes.list(params={"invoice": invoice_id, "limit": 100})
        return [credit_note_of(note) for note in found.data]

    def checkout_session(self, session_id: str) -> CheckoutSnapshot:
        with self._call():
            return checkout_of(self._sdk.checkout.sessions.retrieve(session_id, params={"expand": ["subscription"]}))

    def charge(self, charge_id: str) -> ChargeSnapshot:
        with self._call():
            return charge_of(self._sdk.charges.retrieve(charge_id, params={"expand": ["refunds"]}))

    def dispute(self, dispute_id: str) -> DisputeSnapshot:
        with self._call():
            return dispute_of(self._sdk.disputes.retrieve(dispute_id, params={"expand": ["charge"]}))
