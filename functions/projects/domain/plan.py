"""What the tenant's plan lets the projects context do: its copy of billing's entitlements.

Billing announces them (``billing.entitlements.changed.v1``, an operator's override included); this
context keeps the newest by ``effective_at`` and enforces two limits and one feature from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

#: The feature that unlocks ``GET /v1/projects/{project_id}/export``.
EXPORT = "project_export"


class LimitName(StrEnum):
    PROJECTS = "project_limit"  # active projects per tenant
    TASKS = "task_limit"  # tasks per project


@dataclass(frozen=True)
class Offer:
    """What one plan of the catalogue grants (``None``: no limit)."""

    plan: str
    limits: dict[LimitName, int | None]
    features: frozenset[str]


@dataclass(frozen=True)
class Plan:
    """The tenant's entitlements as this context holds them."""

    name: str
    limits: dict[LimitName, int | None]
    features: frozenset[str]
    effective_at: datetime
    #: Every plan of the catalogue, cheapest first, as of ``effective_at``.
    catalogue: tuple[Offer, ...] = field(default=())

    def allows(self, feature: str) -> bool:
        return feature in self.features

    def raising(self, limit: LimitName) -> str | None:
        """The cheapest other plan whose ``limit`` is above the one held, if any."""
        held = self.limits.get(limit)
        for offer in self.catalogue:
            offered = offer.limits.get(limit)
            if offer.plan != self.name and held is not None and (offered is None or offered > held):
                return offer.plan
        return None

    def granting(self, feature: str) -> list[str]:
        """The plans that grant ``feature``, cheapest first."""
        return [offer.plan for offer in self.catalogue if feature in offer.features]

    def is_newer_than(self, other: Plan | None) -> bool:
        """Entitlements arrive unordered: only newer ones replace what is held."""
        return other is None or self.effective_at > other.effective_at
