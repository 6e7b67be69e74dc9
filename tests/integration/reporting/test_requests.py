"""DynamoDB requests: one Query a report page (once the version reads use is known to the container),
one read and one transaction per event, and no Scan anywhere."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.integration.reporting.support import CONTEXT, deliver, get
from tests.support.moto import dynamodb_requests
from tests.unit.reporting import history as h

#: The tenant the history below happens to (``history``'s default).
TENANT = "ten_a"


@pytest.fixture
def cached_version(reporting: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from keel import settings

    monkeypatch.setenv(CONTEXT.setting_name("VERSION_CACHE_SECONDS"), "300")
    settings.reset()


@pytest.mark.usefixtures("cached_version")
def test_each_report_page_is_one_query() -> None:
    # Given some history, and a container that has read the version reads use
    deliver(h.tenant_created("Acme"), h.joined("usr_1", days=1), h.started("pro", 2900, days=2))
    get("/v1/reports/activity")
    for path, query, operator in [
        ("/v1/reports/activity", {"limit": "10"}, False),
        ("/v1/reports/usage", {"from": "2026-01-01", "to": "2026-01-31"}, False),
        ("/v1/admin/reports/revenue", {"from": "2026-01", "to": "2026-03"}, True),
        ("/v1/admin/reports/subscriptions", {}, True),
        ("/v1/admin/reports/churn", {"from": "2026-01", "to": "2026-03"}, True),
        ("/v1/admin/reports/tenants", {"sort": "activity"}, True),
    ]:
        # When the report is read
        with dynamodb_requests(TENANT) as count:
            assert get(path, query=query, operator=operator).status == 200
        # Then it cost one Query and nothing else
        assert count == Counter({"Query": 1}), path


@pytest.mark.usefixtures("reporting")
def test_an_event_costs_reads_and_one_transaction_never_a_scan() -> None:
    # Given a tenant already known
    deliver(h.tenant_created("Acme"))
    # When an event that opens a thing and one that changes revenue arrive
    for event in (h.joined("usr_1", days=1, invitation="inv_1"), h.started("pro", 2900, days=2)):
        with dynamodb_requests(TENANT) as count:
            deliver(event)
        # Then each is the version pointer, one BatchGetItem and one TransactWriteItems
        assert count == Counter({"GetItem": 1, "BatchGetItem": 1, "TransactWriteItems": 1}), event.type
