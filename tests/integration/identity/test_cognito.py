"""End to end with moto's Cognito as the identity provider, as ``keel dev`` runs it.

This is also the recipe for ``POST /_local/token``: the calls below are the ones that produce tokens
the authorizer accepts, with these settings:

    KEEL_IDENTITY_OIDC_ISSUER   = https://cognito-idp.<region>.amazonaws.com/<pool id>   (moto's ``iss``)
    KEEL_IDENTITY_JWKS_URL      = <moto server>/<pool id>/.well-known/jwks.json
    KEEL_IDENTITY_OIDC_AUDIENCE = <app client id>
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto.server import ThreadedMotoServer

from keel import settings
from tests.integration.identity.gateway import authorize
from tests.support.events import api_event, response_json
from tests.support.moto import create_context_table, create_idempotency_table
from tests.support.pipeline import FakeLambdaContext
from tests.support.staged import STAGED

PASSWORD = "Local-Passw0rd!"


@dataclass(frozen=True)
class LocalCognito:
    endpoint: str
    pool_id: str
    client_id: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.us-east-1.amazonaws.com/{self.pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint}/{self.pool_id}/.well-known/jwks.json"

    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client("cognito-idp", endpoint_url=self.endpoint, region_name="us-east-1")

    def sign_in(self, email: str) -> dict[str, str]:
        """What ``POST /_local/token {email}`` does: create the user if needed, then sign in."""
        idp = self.client()
        try:
            idp.admin_create_user(
                UserPoolId=self.pool_id,
                Username=email,
                UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
                MessageAction="SUPPRESS",
            )
            idp.admin_set_user_password(UserPoolId=self.pool_id, Username=email, Password=PASSWORD, Permanent=True)
        except idp.exceptions.UsernameExistsException:
            pass
        result = idp.admin_initiate_auth(
            UserPoolId=self.pool_id,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        return {"id_token": result["IdToken"], "access_token": result["AccessToken"]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def cognito(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCognito]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        idp = boto3.client("cognito-idp", endpoint_url=endpoint, region_name="us-east-1")
        pool_id = idp.create_user_pool(PoolName="keel-local", UsernameAttributes=["email"])["UserPool"]["Id"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="keel-local",
            ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            ReadAttributes=["email", "email_verified"],
        )["UserPoolClient"]["ClientId"]
        yield LocalCognito(endpoint=endpoint, pool_id=pool_id, client_id=client_id)
    finally:
        server.stop()


@pytest.fixture
def wired_to_cognito(aws: None, cognito: LocalCognito, monkeypatch: pytest.MonkeyPatch) -> LocalCognito:
    trusted = STAGED.identity_provider_settings(
        issuer=cognito.issuer, audience=cognito.client_id, jwks_url=cognito.jwks_url
    )
    for name, value in (STAGED.context("identity").environment | trusted).items():
        monkeypatch.setenv(name, value)
    settings.reset()
    create_context_table(STAGED.context("identity").table_name)
    create_idempotency_table()
    return cognito


def test_a_moto_cognito_id_token_signs_up_and_then_acts_in_its_tenant(wired_to_cognito: LocalCognito) -> None:
    from functions.identity.handlers import api

    # Given a user signed in to the local user pool
    tokens = wired_to_cognito.sign_in("ada@example.com")
    # When the authorizer sees the ID token without a tenant
    signed_in = authorize({"Authorization": f"Bearer {tokens['id_token']}"})
    # Then it is allowed, with the verified email
    assert signed_in["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert signed_in["context"]["email"] == "ada@example.com"
    # And with that context the user creates a tenant
    event = api_event("POST", "/v1/tenants", body={"name": "Acme"}, authorizer=signed_in["context"])
    created = api.handler(event, FakeLambdaContext())  # type: ignore[arg-type]
    assert created["statusCode"] == 201
    tenant = response_json(created)["id"]
    # And both of its tokens then act in the tenant as its owner
    for token in (tokens["id_token"], tokens["access_token"]):
        in_tenant = authorize({"Authorization": f"Bearer {token}", "X-Tenant-Id": tenant})
        assert in_tenant["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert (in_tenant["context"]["tenant_id"], in_tenant["context"]["role"]) == (tenant, "owner")
        assert in_tenant["context"]["user_id"] == signed_in["context"]["user_id"]


def test_a_token_of_another_moto_user_pool_is_unauthorized(wired_to_cognito: LocalCognito) -> None:
    # Given a second pool on the same moto server (same signing key, other issuer and client)
    idp = wired_to_cognito.client()
    other_pool = idp.create_user_pool(PoolName="other", UsernameAttributes=["email"])["UserPool"]["Id"]
    other_client = idp.create_user_pool_client(
        UserPoolId=other_pool, ClientName="other", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    other = LocalCognito(endpoint=wired_to_cognito.endpoint, pool_id=other_pool, client_id=other_client)
    tokens = other.sign_in("eve@example.com")
    # Then its tokens are refused
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize({"Authorization": f"Bearer {tokens['id_token']}"})
