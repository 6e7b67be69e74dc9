"""Business metrics: one CloudWatch EMF document per business fact, printed where the fact happens.

``business("TenantCreated", tenant_id=tenant.id, plan="free")`` right after the transaction that
records the fact succeeded: the metric counts 1 under the ``service`` dimension only (dashboards and
alarms sum it per service); the tenant id, the correlation id, the trace id and ``properties`` are
EMF properties, searchable in CloudWatch Logs Insights, never dimensions (a dimension per tenant is a
metric per tenant, paid for each). Names are the fact in CamelCase, past tense: ``MemberJoined``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

from keel import observability

_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{0,254}$")
#: Keys of the EMF document Keel sets itself; a property may not take them.
_RESERVED = frozenset({"_aws", "service", "correlation_id", "trace_id"})
#: Where no instrumented handler runs (scripts, tests of a service alone), Powertools' own default.
_NO_SERVICE = "service_undefined"


def business(name: str, *, tenant_id: str, **properties: Any) -> None:
    """Emit the business metric ``name`` (count 1) for ``tenant_id``, with ``properties`` (JSON values).

    The ``service`` dimension is the running handler's service; the request line of the running
    request names ``tenant_id`` if the request had no tenant of its own (a sign-up)."""
    if not _NAME.match(name):
        raise ValueError(f"a business metric is named in CamelCase, e.g. TenantCreated: not {name!r}")
    clashes = _RESERVED.intersection(properties) | ({name} & set(properties))
    if clashes:
        raise ValueError(f"properties may not be named {', '.join(sorted(clashes))}")
    service = observability.current_service() or os.environ.get("POWERTOOLS_SERVICE_NAME") or _NO_SERVICE
    # A provider per fact: Powertools' Metrics shares one metric set between every instance of a process.
    emf = AmazonCloudWatchEMFProvider(namespace=observability.NAMESPACE, service=service)
    emf.add_metric(name=name, unit=MetricUnit.Count, value=1)
    emf.add_metadata("tenant_id", tenant_id)
    trace = observability.trace()
    for key, value in {"correlation_id": observability.correlation_id(), "trace_id": trace and trace.trace_id}.items():
        if value:
            emf.add_metadata(key, value)
    for key, value in properties.items():
        emf.add_metadata(key, value)
    emf.flush_metrics()
    observability.note_fact(tenant_id)
