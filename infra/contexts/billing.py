"""Billing: the billing items of a tenant (written by ``keel new context``: say what it owns)."""

from __future__ import annotations

from infra.model import Context

CONTEXT = Context(
    name="billing",
    api_handler="functions.billing.handlers.api",
    api_prefixes=("/v1/billing",),
    # Its table publishes what the outbox holds; add subscriptions=(...) and jobs=(...) as it grows.
    table=True,
    # Values for more settings in functions/billing/settings.py (KEEL_BILLING_<NAME>),
    # e.g. {"PAGE_SIZE": "50"}.
    settings={},
)
