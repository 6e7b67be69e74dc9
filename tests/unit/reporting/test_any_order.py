"""Delivery is at-least-once and unordered: any permutation and any duplication of a history must
build the same read models."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.reporting.domain.facts import Fact
from functions.reporting.domain.projector import Projector
from tests.unit.reporting import history as h
from tests.unit.reporting.fakes import MemoryModels

# Each step of a generated history: what happens, on which day, to which thing and which tenant.
KINDS = (
    "started",
    "changed",
    "renewed",
    "canceled",
    "refunded",
    "paid",
    "invoiced",
    "joined",
    "removed",
    "invited",
    "revoked",
    "key_created",
    "key_revoked",
    "project_created",
    "project_archived",
    "project_restored",
    "project_deleted",
    "task_created",
    "task_completed",
    "entitlements",
    "tenant_created",
    "other",
)


def _event(kind: str, day: int, thing: int, tenant: str) -> Fact:
    t, n = tenant, f"{tenant}_{thing}"
    match kind:
        case "started":
            return h.started(
                ("pro", "business")[thing % 2],
                (2900, 9900)[thing % 2],
                days=day,
                tenant=t,
                interval=("monthly", "annual")[thing % 2],
                trial_days=14 if thing == 2 else None,
            )
        case "changed":
            return h.changed("business", 9900, days=day, tenant=t, currency=("usd", "eur")[thing % 2])
        case "renewed":
            return h.renewed("pro", 3100, days=day, tenant=t)
        case "canceled":
            return h.canceled("pro", days=day, tenant=t)
        case "refunded":
            return h.refunded(500 + thing, days=day, tenant=t)
        case "paid":
            return h.paid(2900, days=day, tenant=t)
        case "invoiced":
            return h.invoiced(-100 * thing, days=day, tenant=t)
        case "joined":
            return h.joined(f"usr_{n}", days=day, tenant=t, invitation=f"inv_{n}" if thing % 2 else None)
        case "removed":
            return h.removed(f"usr_{n}", days=day, tenant=t)
        case "invited":
            return h.invited(f"inv_{n}", days=day, tenant=t)
        case "revoked":
            return h.revoked(f"inv_{n}", days=day, tenant=t)
        case "key_created":
            return h.key_created(f"key_{n}", days=day, tenant=t)
        case "key_revoked":
            return h.key_revoked(f"key_{n}", days=day, tenant=t)
        case "task_created" | "task_completed":
            return h.task(kind.split("_")[1], f"tsk_{n}", days=day, tenant=t)
        case "entitlements":
            return h.entitlements(("free", "pro")[thing % 2], days=day, seats=thing + 1, tenant=t)
        case "tenant_created":
            return h.tenant_created(f"T{thing}", days=day, tenant=t)
        case "other":
            return h.fact("notifications.delivery.failed.v1", {"thing": thing}, tenant=t, days=day)
        case _:
            return h.project(kind.split("_")[1], f"prj_{n}", days=day, tenant=t)


steps = st.tuples(st.sampled_from(KINDS), st.integers(0, 120), st.integers(0, 3), st.sampled_from(("ten_a", "ten_b")))


def _build(events: list[Fact]) -> dict[str, object]:
    models = MemoryModels()
    projector = Projector(models, pause=lambda _: None)
    for event in events:
        projector.apply(event)
    return models.snapshot()


@settings(max_examples=40, deadline=None)
@given(data=st.data(), plan=st.lists(steps, min_size=1, max_size=25))
def test_any_order_and_any_duplicates_build_the_same_models(
    data: st.DataObject, plan: list[tuple[str, int, int, str]]
) -> None:
    # Given a history, and the same history shuffled with some of its events delivered again
    history = [_event(*step) for step in plan]
    shuffled = data.draw(st.permutations(history))
    again = data.draw(st.lists(st.sampled_from(history), max_size=10))
    redelivered = data.draw(st.permutations(shuffled + again))
    # When each is applied to empty models
    # Then both build exactly the same models
    assert _build(redelivered) == _build(history)
