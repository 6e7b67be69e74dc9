"""Identity's side of the contracts: what it publishes, what it consumes, and what the topology names."""

from __future__ import annotations

import importlib

from infra.topology import TOPOLOGY
from keel.contracts import load_all
from keel.contracts.billing import EntitlementsChanged
from keel.contracts.identity import accept_url, invitation_of, invitation_token
from keel.events import Contract

PUBLISHED = {
    "identity.tenant.created.v1",
    "identity.tenant.suspended.v1",
    "identity.tenant.reactivated.v1",
    "identity.user.invited.v2",
    "identity.invitation.revoked.v1",
    "identity.member.joined.v1",
    "identity.member.role_changed.v1",
    "identity.member.removed.v1",
    "identity.api_key.created.v1",
    "identity.api_key.revoked.v1",
}
#: Fields whose names sound like a secret but hold none, each with the reason.
NOT_SECRET = {
    ("identity.user.invited.v2", "accept_url_template"): "the link without its token, derived at send time",
}
_SECRET_WORDS = ("token", "secret", "password", "hash", "url")


def identity_contracts() -> list[type[Contract]]:
    return [c for c in load_all().all() if c.producer() == "identity"]


def test_identity_publishes_exactly_the_events_it_documents() -> None:
    assert {c.TYPE for c in identity_contracts()} == PUBLISHED


def test_no_identity_event_carries_a_secret() -> None:
    suspicious = {
        (c.TYPE, name)
        for c in identity_contracts()
        for name in c.model_fields
        if any(word in name for word in _SECRET_WORDS)
    }
    assert suspicious == set(NOT_SECRET)


def test_an_invitation_link_is_derived_from_its_ids_and_the_key_and_opens_only_with_that_key() -> None:
    key, other = b"k" * 32, b"o" * 32
    token = invitation_token(key, tenant_id="ten_1", invitation_id="inv_1")
    assert invitation_of(key, token) == ("ten_1", "inv_1")
    assert invitation_of(other, token) is None
    assert invitation_of(key, token.replace("inv_1", "inv_2")) is None
    assert invitation_of(key, token[:-1]) is None
    assert invitation_of(key, "ten_1.inv_1") is None
    url = accept_url("https://app.example/join?t={token}", key, tenant_id="ten_1", invitation_id="inv_1")
    assert url == f"https://app.example/join?t={token}"


def test_identity_contracts_refuse_unknown_fields() -> None:
    for contract in [*identity_contracts(), EntitlementsChanged]:
        assert contract.model_config.get("extra") == "forbid"
        assert contract.model_config.get("frozen") is True


def test_every_identity_subscription_has_an_effect_for_each_event_type() -> None:
    identity = TOPOLOGY.context("identity")
    for subscription in identity.subscriptions:
        module = importlib.import_module(subscription.handler)
        handled = {effect.contract.TYPE for effect in module.consumer._effects.values()}
        assert set(subscription.event_types) == handled


def test_every_identity_entry_point_in_the_topology_exposes_a_handler() -> None:
    identity = TOPOLOGY.context("identity")
    entry_points = [identity.api_handler, TOPOLOGY.authorizer_handler]
    entry_points += [s.handler for s in identity.subscriptions] + [j.handler for j in identity.jobs]
    for name in entry_points:
        assert name is not None
        assert callable(importlib.import_module(name).handler), name


def test_billing_entitlements_may_say_no_limit() -> None:
    unlimited = EntitlementsChanged.model_validate(
        {
            "tenant_id": "ten_1",
            "plan": "enterprise",
            "seat_limit": None,
            "project_limit": None,
            "features": {"sso": True},
            "effective_at": "2026-11-22T06:36:30.123Z",
        }
    )
    assert unlimited.seat_limit is None
