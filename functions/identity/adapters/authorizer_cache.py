"""API Gateway's cache of the authorizer's answers, flushed when an operator suspends or reactivates a
tenant (``FlushStageAuthorizersCache`` on the API's one stage).

The REST API lives in its own stack, deployed after identity's (its methods point at identity's
functions), so identity cannot be given the API's id at deploy time without a cycle: the API stack
writes it to an SSM parameter whose name identity knows (``KEEL_IDENTITY_API_ID_PARAMETER``), and it
is read on the first flush, once per container. IAM grants exactly this call on this stage
(``apigateway:DELETE`` on ``/restapis/<id>/stages/<stage>/cache/authorizers``). The local runtime
(and tests) give the id itself (``KEEL_IDENTITY_API_ID``): the call goes to moto, where the runtime
flushes its own gateway's cache (``infra/local/moto_apigateway.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keel import aws, observability


def _ssm() -> Any:
    return aws.client("ssm")


def _apigateway() -> Any:
    return aws.client("apigateway")


class StageAuthorizerCache:
    """Implements ``AuthorizerCache`` for the stage ``stage`` of the API whose id is in ``parameter``."""

    def __init__(
        self,
        *,
        stage: str,
        api_id: str = "",
        parameter: str = "",
        ssm: Callable[[], Any] = _ssm,
        apigateway: Callable[[], Any] = _apigateway,
    ) -> None:
        self._stage = stage
        self._api_id = api_id or None
        self._parameter = parameter
        self._ssm = ssm
        self._apigateway = apigateway

    def flush(self) -> None:
        if self._api_id is None and not self._parameter:
            # No API to flush (none deployed): cached answers expire within the cache's TTL.
            observability.for_service("identity").logger.warning("no API id configured: authorizer cache not flushed")
            return
        self._apigateway().flush_stage_authorizers_cache(restApiId=self.api_id(), stageName=self._stage)

    def api_id(self) -> str:
        if self._api_id is None:
            self._api_id = str(self._ssm().get_parameter(Name=self._parameter)["Parameter"]["Value"])
        return self._api_id
