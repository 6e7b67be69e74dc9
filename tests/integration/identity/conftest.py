"""Identity under moto: its table, the idempotency table, a local IdP, and a gateway that runs the
real authorizer before the real API handler (as API Gateway does, without its cache)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.local import moto_apigateway
from infra.topology import TOPOLOGY
from keel import settings
from tests.integration.identity.gateway import Gateway
from tests.support.moto import create_context_table, create_idempotency_table
from tests.support.staged import STAGED
from tests.unit.identity.idp import AUDIENCE, ISSUER, LocalIdp, running_idp

INVITATION_KEY = "test-invitation-key-" + "k" * 32


@pytest.fixture
def idp() -> Iterator[LocalIdp]:
    with running_idp() as running:
        yield running


@pytest.fixture
def identity(aws: None, idp: LocalIdp, monkeypatch: pytest.MonkeyPatch) -> str:
    """Identity's settings as the topology sets them, pointed at the local IdP, and its tables.
    Returns the stream ARN."""
    ctx = STAGED.context("identity")
    given = ctx.environment | STAGED.identity_provider_settings(issuer=ISSUER, audience=AUDIENCE, jwks_url=idp.jwks_url)
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(ctx.setting_name("INVITE_URL_TEMPLATE"), "https://app.test/accept?token={token}")
    monkeypatch.setenv(ctx.secret_setting("invitation-key"), INVITATION_KEY)
    settings.reset()
    stream = create_context_table(ctx.table_name)
    create_idempotency_table()
    return stream


#: The API whose authorizer cache identity flushes in these tests (a gateway as the local runtime's is).
API_ID = "test-api"


@pytest.fixture
def flushes(identity: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Identity told to flush the authorizer cache of ``API_ID`` (as the local runtime tells it; without
    this, nothing is flushed), and every flush that reached it: ``(api id, stage)``."""
    stage = settings.platform().stage
    for name, value in TOPOLOGY.authorizer_cache_settings(stage, api_id=API_ID).items():
        monkeypatch.setenv(name, value)
    settings.reset()
    seen: list[tuple[str, str]] = []
    stop = moto_apigateway.on_flush(API_ID, stage, lambda: seen.append((API_ID, stage)))
    yield seen
    stop()


@pytest.fixture
def gateway(identity: str, idp: LocalIdp) -> Gateway:
    return Gateway(idp)
