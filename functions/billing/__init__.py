"""Billing: the billing_items of a tenant. Written by ``keel new context``: make it yours."""
