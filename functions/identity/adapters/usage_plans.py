"""API Gateway's usage plans, one per rate tier: each tenant's key of a tier is kept in that tier's.

The API stack makes the plans after identity's stack (its methods point at identity's functions), so
identity cannot be given their ids at deploy time without a cycle: the API stack writes them, as JSON
``{tier: usage plan id}``, to an SSM parameter whose name identity knows
(``KEEL_IDENTITY_USAGE_PLANS_PARAMETER``), read on first use, once per container. The local runtime
and tests give the JSON itself (``KEEL_IDENTITY_USAGE_PLANS``: the plans made on moto). With neither,
or before the API stack has written the parameter (identity's first deploy with usage plans), there
are no usage plans yet: nothing is made and ``provide`` says so (the tenant keeps counting against the
key it has, or the stage's shared one).

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

    def provide(self, tenant_id: str, tier: str) -> bool:
        plans = self.plans()
        if plans is None:
            observability.for_service("identity").logger.warning("no usage plans (yet): no key made")
            return False
        client = self._apigateway()
        name = usage_key_name(tenant_id, tier)
        key_id = self._key_id(client, name)  # made by an earlier attempt whose write then failed
        if key_id is None:
            key_id = client.create_api_key(name=name, value=usage_key(tenant_id, tier), enabled=True)["id"]
        with contextlib.suppress(client.exceptions.ConflictException):  # already in it: a redelivered event
            client.create_usage_plan_key(usagePlanId=plans[tier], keyId=key_id, keyType="API_KEY")
        return True

    def plans(self) -> Mapping[str, str] | None:
        """``{tier: usage plan id}``, read from SSM until found, then kept; ``None`` when there are none."""
        if self._plans is None and self._parameter:
            ssm = self._ssm()
            try:
                value = ssm.get_parameter(Name=self._parameter)["Parameter"]["Value"]
            except ssm.exceptions.ParameterNotFound:
                return None  # the API stack has not written it yet: asked again next time
            self._plans = json.loads(value)
        return self._plans

    @staticmethod
    def _key_id(client: Any, name: str) -> str | None:
        # nameQuery matches a prefix; the names of one tenant's keys differ by their tier's.
        keys = client.get_api_keys(nameQuery=name, includeValues=False).get("items", [])
        return next((str(k["id"]) for k in keys if k.get("name") == name), None)
