"""The plan catalog, as data: what each plan grants and what it costs, monthly or annually.

The Stripe price of each paid plan and interval comes from settings (``KEEL_BILLING_PRICE_<PLAN>_<INTERVAL>``);
everything else a plan is lives here. The amounts are the list prices shown by ``GET /v1/billing/plans``:
keep them equal to the Stripe prices' ``unit_amount``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from keel.contracts.billing import PlanGrant

FREE = "free"
#: Every feature a plan may grant, by name; a plan grants the ones it lists as ``True``.
FEATURES = ("api_access", "audit_log", "sso", "priority_support", "project_export")


class Interval(StrEnum):
    MONTHLY = "monthly"
    ANNUAL = "annual"

    @classmethod
    def of_stripe(cls, interval: str) -> Interval:
        """Stripe's recurring interval (``month``/``year``) as ours."""
        return {"month": cls.MONTHLY, "year": cls.ANNUAL}[interval]


@dataclass(frozen=True)
class Entitlements:
    """What a tenant may use. ``None`` limits mean no limit."""

    plan: str
    seat_limit: int | None
    project_limit: int | None
    features: Mapping[str, bool]
    rate_tier: str
    #: Tasks one project may have (operators' overrides keep the plan's).
    task_limit: int | None = None

    def with_limits(
        self, *, seat_limit: int | None, project_limit: int | None, features: Mapping[str, bool]
    ) -> Entitlements:
        """These entitlements with some limits replaced and some features switched."""
        return replace(
            self,
            seat_limit=self.seat_limit if seat_limit is None else seat_limit,
            project_limit=self.project_limit if project_limit is None else project_limit,
            features={**self.features, **features},
        )


@dataclass(frozen=True)
class Price:
    """One interval's price of a plan: its Stripe price and its list amount."""

    stripe_price_id: str
    amount: int
    currency: str = "usd"


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    seat_limit: int | None
    project_limit: int | None
    features: Mapping[str, bool]
    rate_tier: str
    prices: Mapping[Interval, Price] = field(default_factory=dict)
    task_limit: int | None = None

    @property
    def is_free(self) -> bool:
        return self.name == FREE

    @property
    def entitlements(self) -> Entitlements:
        features = {name: self.features.get(name, False) for name in FEATURES}
        return Entitlements(
            self.name, self.seat_limit, self.project_limit, features, self.rate_tier, task_limit=self.task_limit
        )

    @property
    def grant(self) -> PlanGrant:
        """What the plan grants, as ``billing.entitlements.changed.v1`` tells every consumer."""
        features = [name for name in FEATURES if self.features.get(name, False)]
        return PlanGrant(
            plan=self.name, project_limit=self.project_limit, task_limit=self.task_limit, features=features
        )

    def price(self, interval: Interval) -> Price:
        return self.prices[interval]


#: The plans, cheapest first, without their Stripe price ids (``catalog`` adds those).
PLANS: tuple[Plan, ...] = (
    Plan(
        name=FREE,
        title="Free",
        seat_limit=3,
        project_limit=3,
        task_limit=25,
        features={},
        rate_tier="free",
        prices={Interval.MONTHLY: Price("", 0), Interval.ANNUAL: Price("", 0)},
    ),
    Plan(
        name="pro",
        title="Pro",
        seat_limit=10,
        project_limit=50,
        task_limit=500,
        features={"api_access": True, "audit_log": True, "project_export": True},
        rate_tier="pro",
        prices={Interval.MONTHLY: Price("", 2900), Interval.ANNUAL: Price("", 29000)},
    ),
    Plan(
        name="business",
        title="Business",
        seat_limit=None,
        project_limit=None,
        features={
            "api_access": True,
            "audit_log": True,
            "sso": True,
            "priority_support": True,
            "project_export": True,
        },
        rate_tier="business",
        prices={Interval.MONTHLY: Price("", 9900), Interval.ANNUAL: Price("", 99000)},
    ),
)


def price_setting(plan: str, interval: Interval) -> str:
    """The bare setting name of a plan's Stripe price: ``price_pro_monthly``."""
    return f"price_{plan}_{interval.value}"


class Catalog:
    """The plans, each interval priced with its Stripe price id."""

    def __init__(self, plans: tuple[Plan, ...]) -> None:
        self.plans = plans
        self._by_name = {plan.name: plan for plan in plans}
        self._by_price = {
            price.stripe_price_id: (plan, interval)
            for plan in plans
            for interval, price in plan.prices.items()
            if price.stripe_price_id
        }

    @classmethod
    def with_prices(cls, price_ids: Mapping[str, str]) -> Catalog:
        """``PLANS`` priced by ``price_ids`` (``price_pro_monthly`` -> ``price_1Q...``)."""
        priced = tuple(
            replace(
                plan,
                prices={
                    interval: replace(price, stripe_price_id=price_ids.get(price_setting(plan.name, interval), ""))
                    for interval, price in plan.prices.items()
                },
            )
            for plan in PLANS
        )
        return cls(priced)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Plan:
        return self._by_name[name]

    @property
    def free(self) -> Plan:
        return self._by_name[FREE]

    def of_price(self, stripe_price_id: str) -> tuple[Plan, Interval] | None:
        """The plan and interval a Stripe price stands for; ``None`` for a price not in the catalog."""
        return self._by_price.get(stripe_price_id)
