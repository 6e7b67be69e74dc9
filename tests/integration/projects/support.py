"""The projects API and consumers under moto: API Gateway's own event shape with the authorizer's
context, and identity's and billing's events as their producers write them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.billing.domain.plans import PLANS
from functions.projects.handlers import on_entitlements_changed, on_members_changed
from functions.projects.handlers.api import handler
from keel.clock import FixedClock
from keel.contracts.billing import EntitlementsChanged
from keel.contracts.identity import MemberJoined, MemberRemoved
from keel.events import Envelope, envelope
from tests.support.events import api_event, authorizer_context, response_json
from tests.support.pipeline import FakeLambdaContext
from tests.support.staged import STAGED

CONTEXT = STAGED.context("projects")
TENANT = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA"
OTHER = "ten_01JDBBBBBBBBBBBBBBBBBBBBBB"
ADA = "usr_01JDAAAAAAAAAAAAAAAAAAAAAA"
BOB = "usr_01JDBBBBBBBBBBBBBBBBBBBBBB"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        return self.body["error"]["code"] if isinstance(self.body, dict) and "error" in self.body else None


def call(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    tenant: str = TENANT,
    role: str = "admin",
    user: str = ADA,
    features: str | None = None,
) -> Answer:
    """``method path`` as API Gateway passes it on once the authorizer let ``user`` (``role``) of ``tenant`` in
    (with the plan's ``features``, when it knew them)."""
    caller = authorizer_context(tenant_id=tenant, user_id=user, role=role, features=features)
    event = api_event(method, path, body=body, query=query, headers=headers, authorizer=caller)
    response = handler(event, FakeLambdaContext())  # type: ignore[arg-type]
    headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers |= response.get("headers") or {}
    is_json = str(headers.get("Content-Type", "")).startswith("application/json")
    return Answer(int(response["statusCode"]), response_json(response) if is_json else response.get("body"), headers)


def plan_event(
    tenant: str,
    plan: str,
    *,
    at: datetime = T0,
    project_limit: int | None = None,
    task_limit: int | None = None,
    features: dict[str, bool] | None = None,
    reason: str = "plan",
) -> Envelope:
    """``billing.entitlements.changed.v1`` for ``plan`` of billing's catalogue, some of it overridden."""
    grants = {p.name: p for p in PLANS}
    granted = grants[plan].entitlements
    changed = EntitlementsChanged(
        tenant_id=tenant,
        plan=plan,
        seat_limit=granted.seat_limit,
        project_limit=granted.project_limit if project_limit is None else project_limit,
        task_limit=granted.task_limit if task_limit is None else task_limit,
        features={**granted.features, **(features or {})},
        effective_at=at,
        rate_tier=granted.rate_tier,
        reason=reason,  # type: ignore[arg-type]
        plans=[p.grant for p in PLANS],
    )
    return envelope(changed, tenant_id=tenant, aggregate_id=tenant)


def apply_plan(tenant: str, plan: str, **kwargs: Any) -> None:
    assert on_entitlements_changed.consumer.handle(plan_event(tenant, plan, **kwargs))


def member_event(tenant: str, user: str, *, joined: bool = True, at: datetime = T0) -> Envelope:
    fact = (
        MemberJoined(user_id=user, email="m@example.com", role="member")
        if joined
        else MemberRemoved(user_id=user, email="m@example.com", role="member", removed_by=ADA, reason="removed")
    )
    return envelope(fact, tenant_id=tenant, aggregate_id=user, clock=FixedClock(at))


def join(tenant: str, user: str, *, at: datetime = T0) -> None:
    assert on_members_changed.consumer.handle(member_event(tenant, user, at=at))


def create(name: str, *, tenant: str = TENANT, **fields: Any) -> dict[str, Any]:
    answer = call("POST", "/v1/projects", {"name": name, **fields}, tenant=tenant, role="member")
    assert answer.status == 201, answer.body
    return dict(answer.body)


def add_task(project_id: str, title: str = "Do it", *, tenant: str = TENANT, **fields: Any) -> dict[str, Any]:
    answer = call("POST", f"/v1/projects/{project_id}/tasks", {"title": title, **fields}, tenant=tenant, role="member")
    assert answer.status == 201, answer.body
    return dict(answer.body)
