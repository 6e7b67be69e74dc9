"""The answer that carries an API key's secret is never stored by a cache on the way."""

from __future__ import annotations

from functions.identity.handlers import api
from tests.integration.identity.gateway import Gateway, authorize
from tests.support.events import api_event, response_json
from tests.support.pipeline import FakeLambdaContext


def test_the_new_api_key_secret_comes_with_no_store_and_the_security_headers(gateway: Gateway) -> None:
    # Given an owner, authorized as API Gateway would authorize her
    tenant = gateway.sign_up("ada")
    answer = authorize({"Authorization": f"Bearer {gateway.token('ada')}", "X-Tenant-Id": tenant})
    context = {**answer["context"], "principalId": answer["principalId"]}
    # When she creates an API key
    event = api_event("POST", "/v1/api-keys", body={"name": "CI deploys", "role": "admin"}, authorizer=context)
    response = api.handler(event, FakeLambdaContext())  # type: ignore[arg-type]
    # Then the secret is in the answer, and the answer may not be kept by any cache
    assert response["statusCode"] == 201
    assert response_json(response)["secret"].startswith("keel_")
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["strict-transport-security"].startswith("max-age=31536000")
