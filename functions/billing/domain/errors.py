"""The billing context's business errors: ``keel.http`` answers each with its status, in the one
error shape."""

from __future__ import annotations

from keel.errors import NotFound


class BillingItemNotFound(NotFound):
    """No such billing item in the caller's tenant (another tenant's is not found either)."""
