"""``keel smoke --stage`` signs its throwaway users in through the stage's smoke client, under moto's
Cognito: each is made, signed in, and deleted when the run ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import smoke


@pytest.fixture
def cognito() -> Iterator[tuple[Any, str, str]]:
    with mock_aws():
        client = boto3.client("cognito-idp")
        pool = client.create_user_pool(PoolName="keel-staging-users")["UserPool"]["Id"]
        smoke_client = client.create_user_pool_client(
            UserPoolId=pool, ClientName="keel-staging-smoke", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        yield client, pool, smoke_client


def _users(client: Any, pool: str) -> list[str]:
    return [user["Username"] for user in client.list_users(UserPoolId=pool)["Users"]]


def test_the_stages_pool_signs_a_throwaway_user_in(cognito: tuple[Any, str, str]) -> None:
    client, pool, smoke_client = cognito
    tokens = smoke.CognitoTokens(pool, smoke_client, client)
    # When the smoke run asks for a token for a throwaway address
    token = tokens.token("owner+abc@smoke.keel.invalid")
    # Then it is an ID token (a JWT) of a user made in the stage's pool
    assert token.count(".") == 2
    assert _users(client, pool) == ["owner+abc@smoke.keel.invalid"]


def test_the_throwaway_users_are_deleted_when_the_run_ends(cognito: tuple[Any, str, str]) -> None:
    client, pool, smoke_client = cognito
    client.admin_create_user(UserPoolId=pool, Username="someone@example.com", MessageAction="SUPPRESS")
    tokens = smoke.CognitoTokens(pool, smoke_client, client)
    tokens.token("owner+abc@smoke.keel.invalid")
    tokens.token("member+abc@smoke.keel.invalid")
    # When the run forgets its users
    left = tokens.forget()
    # Then its own are gone, nothing was left behind, and the pool's other users are untouched
    assert left == []
    assert _users(client, pool) == ["someone@example.com"]
