"""Ids, clock, tenancy, events, API model bases: the kernel's small pieces."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field, ValidationError

from keel import ids, observability
from keel.clock import FixedClock, iso
from keel.errors import Forbidden, Unauthorized
from keel.events import Contract, Envelope, Registry, envelope
from keel.tenancy import Access, Caller, Role
from keel.views import Body, View


def test_ids_carry_their_prefix_and_sort_by_creation_time() -> None:
    early = ids.new_id("usr", datetime(2026, 1, 1, tzinfo=UTC))
    late = ids.new_id("usr", datetime(2026, 1, 2, tzinfo=UTC))
    assert early.startswith("usr_")
    assert ids.is_id("usr", early)
    assert not ids.is_id("ten", early)
    assert early < late


@pytest.mark.parametrize("prefix", ["", "U", "way_too_long", "a-b"])
def test_an_invalid_id_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        ids.new_id(prefix)


@given(st.text(max_size=40))
def test_is_id_accepts_only_a_prefix_and_a_26_character_ulid(text: str) -> None:
    if ids.is_id("usr", text):
        assert text.startswith("usr_")
        assert len(text) == 30
        assert text[4:].isalnum()
    assert not ids.is_id("usr", f"usr_{text}!")


def test_the_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2026, 11, 22, 6, 0, tzinfo=UTC))
    assert clock.now() == clock.now()
    clock.advance(timedelta(hours=1))
    assert iso(clock.now()) == "2026-11-22T07:00:00.000Z"
    with pytest.raises(ValueError, match="timezone"):
        FixedClock(datetime(2026, 1, 1))


def test_roles_are_ordered_owner_admin_member() -> None:
    assert Role.OWNER.at_least(Role.ADMIN)
    assert Role.ADMIN.at_least(Role.MEMBER)
    assert not Role.MEMBER.at_least(Role.ADMIN)


def test_the_caller_comes_only_from_the_authorizer_context() -> None:
    caller = Caller.from_authorizer({"user_id": "usr_1", "tenant_id": "ten_1", "role": "admin", "plan": "pro"})
    assert caller.tenant is not None
    assert (caller.tenant.tenant_id, caller.tenant.role, caller.tenant.plan) == ("ten_1", Role.ADMIN, "pro")
    caller.require(Access.ADMIN)
    with pytest.raises(Forbidden):
        caller.require(Access.OWNER)


@pytest.mark.parametrize(
    ("said", "features"),
    [({}, None), ({"features": ""}, frozenset()), ({"features": "project_export,sso"}, {"project_export", "sso"})],
)
def test_the_plans_features_come_from_the_authorizer_context_when_it_says(
    said: dict[str, str], features: frozenset[str] | None
) -> None:
    caller = Caller.from_authorizer({"user_id": "usr_1", "tenant_id": "ten_1", "role": "admin", "plan": "pro"} | said)
    assert caller.in_tenant().features == features


@pytest.mark.parametrize(
    "authorizer",
    [None, {}, {"tenant_id": "ten_1", "role": "owner"}, {"user_id": "usr_1", "tenant_id": "ten_1", "role": "god"}],
)
def test_a_missing_or_forged_authorizer_context_is_unauthorized(authorizer: dict | None) -> None:
    with pytest.raises(Unauthorized):
        Caller.from_authorizer(authorizer)


EXPIRY = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
EXPIRING = {"user_id": "usr_1", "tenant_id": "ten_1", "role": "admin", "valid_until": str(int(EXPIRY.timestamp()))}


def test_a_credential_is_accepted_until_its_valid_until() -> None:
    caller = Caller.from_authorizer(EXPIRING, now=EXPIRY - timedelta(seconds=1))
    assert caller.user_id == "usr_1"


@pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1), timedelta(days=1)])
def test_a_credential_is_refused_from_its_valid_until_on(after: timedelta) -> None:
    with pytest.raises(Unauthorized, match="expired"):
        Caller.from_authorizer(EXPIRING, now=EXPIRY + after)


@pytest.mark.parametrize("valid_until", ["", "soon", "1.5e9", "null"])
def test_an_unreadable_valid_until_is_unauthorized(valid_until: str) -> None:
    with pytest.raises(Unauthorized):
        Caller.from_authorizer(EXPIRING | {"valid_until": valid_until}, now=EXPIRY - timedelta(days=1))


def test_a_credential_without_valid_until_does_not_expire() -> None:
    # API keys carry none: they last until revoked
    caller = Caller.from_authorizer(
        {"user_id": "key_1", "tenant_id": "ten_1", "role": "member"}, now=datetime.max.replace(tzinfo=UTC)
    )
    assert caller.tenant is not None


def test_a_signed_in_user_without_a_tenant_may_only_call_authenticated_routes() -> None:
    caller = Caller.from_authorizer({"user_id": "usr_1"})
    caller.require(Access.AUTHENTICATED)
    with pytest.raises(Forbidden):
        caller.require(Access.MEMBER)


class Pinged(Contract):
    TYPE = "tests.ping.sent.v1"
    n: int


def test_an_envelope_carries_the_current_correlation_id() -> None:
    observability.set_correlation_id("corr-42")
    try:
        env = envelope(Pinged(n=1), tenant_id="ten_1", aggregate_id="png_1")
    finally:
        observability.set_correlation_id(None)
    assert env.correlation_id == "corr-42"
    assert env.type == "tests.ping.sent.v1"
    assert env.source == "keel.tests"
    assert env.payload == {"n": 1}
    assert Envelope.model_validate_json(env.model_dump_json()) == env


@pytest.mark.parametrize(
    ("event_type", "valid"),
    [
        ("work_orders.work_order.created.v1", True),  # any context name: lowercase, digits, underscores
        ("demo2.item.created.v12", True),
        ("identity.member.joined", False),
        ("Identity.member.joined.v1", False),
        ("identity.v1", False),
        ("2fast.item.created.v1", False),
    ],
)
def test_an_event_type_is_context_entity_fact_and_version(event_type: str, valid: bool) -> None:
    fields = {"id": ids.new_id("evt"), "type": event_type, "tenant_id": "ten_1", "aggregate_id": "x_1"}
    fields |= {"occurred_at": "2026-01-05T09:30:00.000Z", "correlation_id": "c", "payload": {}}
    if valid:
        assert Envelope(**fields).source == f"keel.{event_type.partition('.')[0]}"
    else:
        with pytest.raises(ValidationError):
            Envelope(**fields)


def test_a_registry_refuses_two_contracts_for_one_type() -> None:
    registry = Registry()
    registry.register(Pinged)

    class Impostor(Contract):
        TYPE = "tests.ping.sent.v1"

    with pytest.raises(ValueError, match="already defined"):
        registry.register(Impostor)
    parsed = registry.parse(envelope(Pinged(n=3), tenant_id="ten_1", aggregate_id="png_1"))
    assert parsed.payload == Pinged(n=3)


def test_log_lines_carry_tenant_user_request_and_correlation(capsys: pytest.CaptureFixture[str]) -> None:
    observability.bind("logtest", correlation_id="corr-1", request_id="req-1", tenant_id="ten_1", user_id="usr_1")
    observability.for_service("logtest").logger.info("hello")
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {k: line[k] for k in ("service", "tenant_id", "user_id", "request_id", "correlation_id")} == {
        "service": "logtest",
        "tenant_id": "ten_1",
        "user_id": "usr_1",
        "request_id": "req-1",
        "correlation_id": "corr-1",
    }
    logging.getLogger("logtest").handlers.clear()


class Renaming(Body):
    name: str = Field(min_length=1, max_length=10)


class Renamed(View):
    name: str


def test_a_body_refuses_a_field_it_does_not_name() -> None:
    with pytest.raises(ValidationError, match="extra_forbidden"):
        Renaming.model_validate({"name": "Acme", "tenant_id": "ten_other"})


def test_a_body_trims_its_text_before_the_limits_count_it() -> None:
    assert Renaming(name="  Acme  ").name == "Acme"
    with pytest.raises(ValidationError, match="at least 1 character"):
        Renaming(name="   ")


def test_bodies_and_views_are_built_on_first_use_not_when_defined() -> None:
    class Later(Body):
        n: int

    class LaterView(View):
        n: int

    assert not Later.__pydantic_complete__
    assert not LaterView.__pydantic_complete__
    Later(n=1)
    LaterView(n=1)
    assert Later.__pydantic_complete__
    assert LaterView.__pydantic_complete__
