from __future__ import annotations

import pytest

from tests.integration.projects.support import CONTEXT
from tests.support.moto import create_context_table, create_idempotency_table
from tests.support.staged import STAGED


@pytest.fixture
def table(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The context's settings as the topology sets them, and its table as ``keel dev`` creates it."""
    for name, value in CONTEXT.environment.items():
        monkeypatch.setenv(name, value)
    create_context_table(CONTEXT.table_name)
    create_idempotency_table(STAGED.idempotency_table)
    return CONTEXT.table_name
