"""The emulated Stripe account: its objects, its time domains, and the events it emits.

Time: a customer attached to a test clock lives at the clock's time, every other object at the
wall clock. Everything that happens to a customer's objects (invoices, charges, events) is
stamped with the customer's time, as Stripe stamps test-clock objects with the frozen time.

Every change happens under ``lock``; events are collected in the order they happen and handed to
the webhook dispatcher when the operation ends (``flush``).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from infra.local.stripe import objects
from infra.local.stripe.settings import EmulatorSettings
from infra.local.stripe.store import Obj, Store, new_id

if TYPE_CHECKING:
    from infra.local.stripe.checkout import SessionTerms

EventSink = Callable[[list[Obj]], None]
_ADVERB = {"day": "daily", "week": "weekly", "month": "monthly", "year": "annual"}


class Account:
    """One Stripe test-mode account; every public method expects ``lock`` to be held."""

    def __init__(self, settings: EmulatorSettings, *, wall: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.store = Store()
        self.wall = wall
        self.base_url = "http://127.0.0.1"
        #: The API request being served: (request id, idempotency key); ``(None, None)`` for automatic work.
        self.request: tuple[str | None, str | None] = (None, None)
        #: Where a test clock is while it advances (its object keeps the old ``frozen_time`` until ready).
        self.clock_time: dict[str, int] = {}
        #: Webhook endpoint id -> signing secret.
        self.endpoint_secrets: dict[str, str] = {}
        #: Customer id -> (payments still to fail, decline code), set by the fail-next-payment helper.
        self.forced_failures: dict[str, tuple[int, str]] = {}
        #: Subscriptions whose ``trial_will_end`` was sent.
        self.trial_notified: set[str] = set()
        #: Invoice id -> its payment intent.
        self.invoice_intents: dict[str, str] = {}
        #: Refund id -> how much of it credit notes already account for.
        self.refund_linked: dict[str, int] = {}
        #: Checkout session id -> what it subscribes to.
        self.checkout_terms: dict[str, SessionTerms] = {}
        self.sink: EventSink = lambda events: None
        #: Runs long work (a clock advancing) away from the request; the server gives it a thread.
        self.background: Callable[[str, Callable[[], None]], None] = lambda name, work: work()
        self.interested: Callable[[str], int] = lambda event_type: 0
        self._pending: list[Obj] = []
        self._seed()

    # -- time ----------------------------------------------------------------------------------

    def clock_of(self, customer_id: str | None) -> str | None:
        if not customer_id:
            return None
        found = self.store.find(customer_id)
        return found.get("test_clock") if found else None

    def clock_now(self, clock_id: str) -> int:
        if clock_id in self.clock_time:
            return self.clock_time[clock_id]
        return int(self.store.get(clock_id, "test_helpers.test_clock")["frozen_time"])

    def now(self, customer_id: str | None = None) -> int:
        """The time in ``customer_id``'s world: its test clock's, or the wall clock's."""
        clock = self.clock_of(customer_id)
        return self.clock_now(clock) if clock else int(self.wall())

    def customer_of(self, obj: Obj) -> str | None:
        """The customer an object belongs to (its own id for a customer)."""
        kind = obj.get("object")
        if kind == "customer":
            return str(obj["id"])
        customer = obj.get("customer")
        if isinstance(customer, str):
            return customer
        for link in ("charge", "invoice"):
            target = obj.get(link)
            if isinstance(target, str) and (linked := self.store.find(target)) is not None:
                return self.customer_of(linked)
        return None

    def time_of(self, obj: Obj) -> int:
        if obj.get("object") == "test_helpers.test_clock":
            return self.clock_now(obj["id"])
        return self.now(self.customer_of(obj))

    # -- events --------------------------------------------------------------------------------

    def emit(self, event_type: str, obj: Obj, *, previous: dict[str, Any] | None = None) -> Obj:
        """Record ``event_type`` with a snapshot of ``obj`` now."""
        event = objects.event(
            event_id=new_id("evt"),
            event_type=event_type,
            data_object=copy.deepcopy(obj),
            previous=previous,
            created=self.time_of(obj),
            request=self.request,
            pending_webhooks=self.interested(event_type),
        )
        self._pending.append(event)
        return event

    def emit_changes(self, event_type: str, obj: Obj, before: Obj) -> Obj | None:
        """Emit an ``*.updated`` event with Stripe's ``previous_attributes``, if anything changed."""
        previous = {key: before.get(key) for key in obj if before.get(key) != obj[key]}
        return self.emit(event_type, obj, previous=previous) if previous else None

    def mark(self) -> int:
        """A position in this operation's events, to insert an event before later ones."""
        return len(self._pending)

    def move_last_to(self, position: int) -> None:
        self._pending.insert(position, self._pending.pop())

    def flush(self) -> None:
        """Hand this operation's events, in order, to the webhook dispatcher."""
        events, self._pending = self._pending, []
        for event in events:
            self.store.add(event)  # stored in the order they are sent, after any reordering
        if events:
            self.sink(events)

    # -- catalogue -----------------------------------------------------------------------------

    def _seed(self) -> None:
        created = int(self.wall())
        for plan in self.settings.catalog:
            product = self.store.find(plan.product_id)
            if product is None:
                product = self.store.add(
                    objects.product(
                        product_id=plan.product_id,
                        name=plan.product_name,
                        created=created,
                        default_price=plan.price_id,
                        metadata={"plan": plan.plan},
                    )
                )
            self.store.add(
                objects.price(
                    price_id=plan.price_id,
                    product_id=plan.product_id,
                    unit_amount=plan.unit_amount,
                    currency=plan.currency,
                    interval=plan.interval,
                    interval_count=plan.interval_count,
                    created=created,
                    lookup_key=plan.lookup_key,
                    nickname=f"{plan.product_name} {_ADVERB.get(plan.interval, plan.interval)}",
                    metadata={"plan": plan.plan},
                )
            )
        self.portal_configuration = self.store.add(
            objects.portal_configuration(
                config_id=new_id("bpc"),
                created=created,
                cancel_at_period_end=self.settings.portal_cancel_at_period_end,
                proration=self.settings.portal_proration_behavior,
            )
        )

    def product_name(self, price: Obj) -> str:
        product = self.store.find(price["product"])
        return str(product["name"]) if product else str(price["product"])


def snapshot(obj: Obj) -> Obj:
    return copy.deepcopy(obj)
