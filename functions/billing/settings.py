"""The billing context's settings (``KEEL_BILLING_*``), imported by ``wiring`` on first
use."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class BillingSettings(BaseSettings):
    """``KEEL_BILLING_*``: what the topology sets for the context, in the cloud and locally
    (``infra/contexts/billing.py``)."""

    model_config = SettingsConfigDict(env_prefix="KEEL_BILLING_", extra="ignore", frozen=True)

    #: The context's own table.
    table: str
