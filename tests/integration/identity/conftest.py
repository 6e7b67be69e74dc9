"""Identity under moto: its table, the idempotency table, a local IdP, and a gateway that runs the
real authorizer before the real API handler (as API Gateway does, without its cache)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.topology import TOPOLOGY
from keel import settings
from tests.integration.identity.gateway import Gateway
from tests.support.moto import create_context_table, create_idempotency_table
from tests.unit.identity.idp import AUDIENCE, ISSUER, LocalIdp, running_idp

INVITATION_KEY = "test-invitation-key-" + "k" * 32


@pytest.fixture
def idp() -> Iterator[LocalIdp]:
    with running_idp() as running:
        yield running


@pytest.fixture
def identity(aws: None, idp: LocalIdp, monkeypatch: pytest.MonkeyPatch) -> str:
    """Identity's settings pointed at the local IdP, and its tables. Returns the stream ARN."""
    monkeypatch.setenv("KEEL_IDENTITY_TABLE", "keel-identity")
    monkeypatch.setenv("KEEL_IDENTITY_OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("KEEL_IDENTITY_OIDC_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("KEEL_IDENTITY_JWKS_URL", idp.jwks_url)
    monkeypatch.setenv("KEEL_IDENTITY_INVITE_URL_TEMPLATE", "https://app.test/accept?token={token}")
    monkeypatch.setenv("KEEL_IDENTITY_INVITATION_KEY", INVITATION_KEY)
    monkeypatch.setenv("KEEL_IDENTITY_TENANTLESS_ROUTES", TOPOLOGY.context("identity").settings["TENANTLESS_ROUTES"])
    settings.reset()
    stream = create_context_table("keel-identity")
    create_idempotency_table()
    return stream


@pytest.fixture
def gateway(identity: str, idp: LocalIdp) -> Gateway:
    return Gateway(idp)
