"""Flushing API Gateway's cache of authorizer answers (on moto, whose ``FlushStageAuthorizersCache``
``infra/local/moto_apigateway.py`` adds): the API named by its id, or in the cloud by the SSM
parameter the API stack writes, read once per container."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from functions.identity.adapters.authorizer_cache import StageAuthorizerCache
from infra.local import moto_apigateway
from tests.support.moto import create_api

STAGE = "dev"
API = "api-1"


@pytest.fixture
def flushed(aws: None) -> Iterator[list[str]]:
    """Every flush of ``API``'s stage ``STAGE`` (a handler of the call, as the local runtime's gateway is)."""
    seen: list[str] = []
    stop = moto_apigateway.on_flush(API, STAGE, lambda: seen.append(API))
    yield seen
    stop()


def test_the_api_named_in_the_parameter_is_flushed_and_the_parameter_read_once(flushed: list[str]) -> None:
    # Given the parameter the API stack writes the API's id to
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/keel/dev/api-id", Value=API, Type="String")
    reads: list[str] = []
    cache = StageAuthorizerCache(stage=STAGE, parameter="/keel/dev/api-id", ssm=lambda: reads.append("x") or ssm)
    # When it is flushed twice
    cache.flush()
    cache.flush()
    # Then that API's stage was flushed each time, and the parameter read once
    assert flushed == [API, API]
    assert len(reads) == 1


def test_an_api_id_given_directly_needs_no_parameter(flushed: list[str]) -> None:
    StageAuthorizerCache(stage=STAGE, api_id=API, ssm=lambda: pytest.fail("no SSM read expected")).flush()

    assert flushed == [API]


def test_with_no_api_configured_nothing_is_flushed(flushed: list[str]) -> None:
    StageAuthorizerCache(stage=STAGE, apigateway=lambda: pytest.fail("no API call expected")).flush()

    assert flushed == []


def test_an_api_moto_holds_answers_202_and_an_unknown_stage_404_as_api_gateway(aws: None) -> None:
    api_id = create_api(STAGE)
    apigateway = boto3.client("apigateway")

    StageAuthorizerCache(stage=STAGE, api_id=api_id, apigateway=lambda: apigateway).flush()
    with pytest.raises(apigateway.exceptions.NotFoundException):
        StageAuthorizerCache(stage="prod", api_id=api_id, apigateway=lambda: apigateway).flush()
