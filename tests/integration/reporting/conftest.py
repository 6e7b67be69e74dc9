"""Reporting under moto: its table, as the topology names it and ``keel dev`` makes it."""

from __future__ import annotations

import pytest

from keel import settings
from tests.integration.reporting.support import CONTEXT
from tests.support.moto import create_context_table


@pytest.fixture
def reporting(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CONTEXT.environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(CONTEXT.setting_name("VERSION_CACHE_SECONDS"), "0")
    settings.reset()
    create_context_table(CONTEXT.table_name)
