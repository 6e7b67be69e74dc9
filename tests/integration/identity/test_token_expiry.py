"""A token stops working when it expires, even on an authorization API Gateway cached before that.

The authorizer puts the token's expiry (plus the clock skew it allows) in its answer as
``valid_until``; the kernel refuses any request from then on. Tokens are verified at the real time
(PyJWT reads the system clock), so each token here expires one second from now, and the API's
clock (and the local gateway's) is then moved past it instead of waiting.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from functions.identity.handlers import api
from infra.local.authorizer import AuthorizerGate
from infra.local.environment import REGION
from infra.local.gateway import GatewayRequest, GatewayResponse, LocalApi
from infra.local.lambdas import LocalFunction
from infra.local.runtime import api_functions
from infra.topology import AUTHORIZER_CACHE_SECONDS
from keel.clock import FixedClock
from tests.integration.identity.gateway import Gateway, authorize
from tests.support.events import api_event
from tests.support.pipeline import FakeLambdaContext
from tests.support.staged import STAGED
from tests.unit.identity.idp import LocalIdp

SKEW = int(STAGED.context("identity").settings["CLOCK_SKEW_SECONDS"])


@pytest.fixture
def api_clock(monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    """The identity API's clock, starting at the current second; tests move it."""
    clock = FixedClock(datetime.fromtimestamp(int(time.time()), UTC))
    monkeypatch.setattr(api.app, "clock", clock)
    return clock


def _expiring_token(idp: LocalIdp, clock: FixedClock) -> tuple[str, int]:
    """Ada's ID token, expiring one second after ``clock``'s now; and that expiry."""
    expires = int(clock.now().timestamp()) + 1
    assert clock.now().timestamp() == expires - 1
    return idp.id_token("ada", "ada@example.com", exp=expires, iat=expires - 3600), expires


def test_an_authorization_replayed_after_the_tokens_expiry_plus_skew_is_refused(
    gateway: Gateway, idp: LocalIdp, api_clock: FixedClock
) -> None:
    # Given Ada's tenant, and the authorizer's answer for a token of hers that expires at E
    tenant = gateway.sign_up("ada")
    token, expires = _expiring_token(idp, api_clock)
    answer = authorize({"Authorization": f"Bearer {token}", "X-Tenant-Id": tenant})
    assert answer["context"]["valid_until"] == str(expires + SKEW)
    context = {**answer["context"], "principalId": answer["principalId"]}

    def read_tenant() -> int:
        event = api_event("GET", "/v1/tenant", authorizer=context)
        return int(api.handler(event, FakeLambdaContext())["statusCode"])  # type: ignore[arg-type]

    # When API Gateway hands that answer to the API 1 s before E, and again 1 s after E plus the skew
    before = read_tenant()
    api_clock.advance(timedelta(seconds=1 + SKEW + 1))
    after = read_tenant()

    # Then the first is served and the second refused
    assert (before, after) == (200, 401)


def _get(gateway: LocalApi, path: str, headers: dict[str, str]) -> GatewayResponse:
    return gateway.handle(GatewayRequest("GET", path, list(headers.items()), None, "127.0.0.1", "localhost"))


def test_a_token_used_before_expiry_is_refused_after_it_even_from_the_local_gateways_cache(
    gateway: Gateway, idp: LocalIdp, api_clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the local API Gateway (the real authorizer, its answers cached AUTHORIZER_CACHE_SECONDS,
    # and identity's real API), on the same clock as the API
    authorizer = LocalFunction(STAGED.authorizer_name, str(STAGED.authorizer_handler), region=REGION)
    local = LocalApi(
        STAGED,
        api_functions=api_functions(STAGED),
        authorizer=AuthorizerGate(
            authorizer, cache_seconds=AUTHORIZER_CACHE_SECONDS, clock=lambda: api_clock.now().timestamp()
        ),
        region=REGION,
    )
    tenant = gateway.sign_up("ada")
    token, expires = _expiring_token(idp, api_clock)
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-Id": tenant}
    caplog.set_level(logging.INFO, logger="identity-authorizer")
    caplog.clear()

    # When Ada reads her tenant 1 s before the token expires
    before = _get(local, "/v1/tenant", headers)
    # And again 1 s after its expiry plus the skew: 62 s later, well inside the cache's lifetime
    api_clock.advance(timedelta(seconds=1 + SKEW + 1))
    assert (api_clock.now().timestamp() - time.time()) < AUTHORIZER_CACHE_SECONDS
    after = _get(local, "/v1/tenant", headers)

    # Then the first is served, the second refused by the API with 401, on the cached answer
    assert before.status == 200, before.body
    assert after.status == 401
    assert json.loads(after.body)["error"]["message"] == "the credential has expired"
    decisions = [r for r in caplog.records if r.name == "identity-authorizer" and r.getMessage() == "allowed"]
    assert len(decisions) == 1, "the second answer should have come from the gateway's cache"
    assert expires + SKEW < api_clock.now().timestamp()
