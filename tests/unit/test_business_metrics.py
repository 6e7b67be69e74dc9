"""``keel.metrics.business``: one EMF document per fact, the service its only dimension."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from keel import metrics, observability
from tests.conftest import json_lines
from tests.support.pipeline import FakeLambdaContext


def test_a_fact_inside_a_handler_counts_under_its_service_with_everything_else_a_property(
    printed: Callable[[], str],
) -> None:
    @observability.instrumented("ledger", "job")
    def job(event: dict[str, object], context: object) -> None:
        observability.bind("ledger", correlation_id="corr-ledger")
        metrics.business("InvoiceIssued", tenant_id="ten_1", plan="pro", amount_minor=1200)

    job({}, FakeLambdaContext())  # type: ignore[arg-type]

    [doc] = [line for line in json_lines(printed()) if "_aws" in line]
    assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert doc["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "InvoiceIssued", "Unit": "Count"}]
    assert (doc["service"], doc["tenant_id"], doc["plan"], doc["amount_minor"]) == ("ledger", "ten_1", "pro", 1200)
    assert doc["correlation_id"] == "corr-ledger"
    assert len(doc["trace_id"]) == 32


def test_outside_a_handler_the_service_is_powertools_own_default(
    printed: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)

    metrics.business("TenantCreated", tenant_id="ten_1")

    [doc] = [line for line in json_lines(printed()) if "_aws" in line]
    assert doc["service"] == "service_undefined"


@pytest.mark.parametrize("name", ["tenant_created", "tenantCreated", "Tenant Created", ""])
def test_a_metric_is_named_in_camel_case(name: str) -> None:
    with pytest.raises(ValueError, match="CamelCase"):
        metrics.business(name, tenant_id="ten_1")


@pytest.mark.parametrize("prop", ["service", "_aws", "correlation_id", "TenantCreated"])
def test_a_property_may_not_take_a_key_keel_sets(prop: str) -> None:
    with pytest.raises(ValueError, match="may not be named"):
        metrics.business("TenantCreated", tenant_id="ten_1", **{prop: "x"})
