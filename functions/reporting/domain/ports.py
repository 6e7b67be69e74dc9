"""What reporting's services need from storage: the models of one model version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from functions.reporting.domain.model import Changes, Entity, EntityKey, TenantState
from keel.errors import Conflict


class AlreadyApplied(Conflict):
    """The event is in the model already (its activity entry exists): a redelivery or a replay."""


class Contended(Conflict):
    """Another event changed the same state meanwhile: read again and retry."""


class Models(Protocol):
    """The read models of one version: the state one event touches, and committing its changes."""

    def load(self, tenant_id: str, entities: Sequence[EntityKey]) -> tuple[TenantState, dict[EntityKey, Entity]]:
        """The tenant's state and the named things (one read)."""
        ...

    def commit(self, changes: Changes) -> None:
        """Every write of ``changes`` as one transaction; ``AlreadyApplied`` or ``Contended`` when it cannot."""
        ...


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    cursor: str | None


class Reports(Protocol):
    """Reads of one model version, each one request."""

    def activity(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page: ...

    def usage(self, tenant_id: str, *, first_day: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The tenant's usage per day from ``first_day`` on, and its running totals (one Query)."""
        ...

    def revenue(self, *, last_month: str) -> list[dict[str, Any]]:
        """Every month's revenue figures up to ``last_month`` (one Query)."""
        ...

    def subscriptions(self) -> list[dict[str, Any]]: ...

    def tenants(self, *, sort: str, limit: int, cursor: str | None) -> Page: ...
