"""Events billing publishes (only the ones other contexts consume are defined so far)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from keel.events import Contract, contract


@contract
class EntitlementsChanged(Contract):
    """What a tenant may use from ``effective_at`` on. Consumers keep their own copy of the limits
    they enforce and ignore an event whose ``effective_at`` is not newer than the one they hold
    (delivery is unordered)."""

    TYPE = "billing.entitlements.changed.v1"

    tenant_id: str
    plan: str = Field(min_length=1, examples=["free", "pro"])
    #: Members plus pending invitations the tenant may have; ``None`` means no limit.
    seat_limit: int | None = Field(ge=1)
    #: Projects the tenant may have; ``None`` means no limit.
    project_limit: int | None = Field(ge=0)
    #: Feature flags by name.
    features: dict[str, bool] = Field(default_factory=dict)
    effective_at: datetime


@contract
class BillingItemCreated(Contract):
    """A billing item exists (its first version)."""

    TYPE = "billing.billing_item.created.v1"

    billing_item_id: str
    name: str
