"""API Gateway's usage plans, one per rate tier: each tenant's key of a tier is kept in that tier's.

The API stack makes the plans after identity's stack (its methods point at identity's functions), so
identity cannot be given their ids at deploy time without a cycle: the API stack writes them, as JSON
``{tier: usage plan id}``, to an SSM parameter whose name identity knows
(``KEEL_IDENTITY_USAGE_PLANS_PARAMETER``), read on first use, once per container. Tests may give the
JSON itself (``KEEL_IDENTITY_USAGE_PLANS``). With neither there are no usage plans (the local
runtime's gateway limits each tenant by its plan itself): nothing is done.

IAM allows exactly these calls: make a key, list keys (to find one by name), add a key to a plan.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from functions.identity.domain.usage import usage_key, usage_key_name
from keel import aws, observability


def _ssm() -> Any:
    return aws.client("ssm")


def _apigateway() -> Any:
    return aws.client("apigateway")


class ApiGatewayUsagePlans:
    """Implements ``UsagePlans`` with the usage plans named in ``parameter`` (or given as ``plans``)."""

    def __init__(
        self,
        *,
        plans: str = "",
        parameter: str = "",
        ssm: Callable[[], Any] = _ssm,
        apigateway: Callable[[], Any] = _apigateway,
    ) -> None:
        self._plans: Mapping[str, str] | None = json.loads(plans) if plans else None
        self._parameter = parameter
        self._ssm = ssm
        self._apigateway = apigateway

    def provide(self, tenant_id: str, tier: str, *, new: bool = False) -> None:
        plans = self.plans()
        if plans is None:
            observability.for_service("identity").logger.warning("no usage plans configured: no key made")
            return
        client = self._apigateway()
        name = usage_key_name(tenant_id, tier)
        key_id = None if new else self._key_id(client, name)
        if key_id is None:
            key_id = client.create_api_key(name=name, value=usage_key(tenant_id, tier), enabled=True)["id"]
        with contextlib.suppress(client.exceptions.ConflictException):  # already in it: a redelivered event
            client.create_usage_plan_key(usagePlanId=plans[tier], keyId=key_id, keyType="API_KEY")

    def plans(self) -> Mapping[str, str] | None:
        """``{tier: usage plan id}``, read from SSM on first use; ``None`` when none are configured."""
        if self._plans is None and self._parameter:
            self._plans = json.loads(self._ssm().get_parameter(Name=self._parameter)["Parameter"]["Value"])
        return self._plans

    @staticmethod
    def _key_id(client: Any, name: str) -> str | None:
        # nameQuery matches a prefix; the names of one tenant's keys differ by their tier's.
        keys = client.get_api_keys(nameQuery=name, includeValues=False).get("items", [])
        return next((str(k["id"]) for k in keys if k.get("name") == name), None)
