"""The platform's services are built from settings and rebuilt when the kernel forgets them, like
every context's (tests and the local runtime change the environment between runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.platform import wiring
from infra.topology import TOPOLOGY
from keel import reset_caches


def test_the_docs_service_is_rebuilt_from_new_settings_after_reset_caches(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    platform = TOPOLOGY.context("platform")
    (tmp_path / "openapi.json").write_text('{"openapi": "3.1.0", "paths": {}}')
    monkeypatch.setenv(platform.setting_name("OPENAPI_FILE"), str(tmp_path / "openapi.json"))
    # Given the service built for the stage "one"
    monkeypatch.setenv("KEEL_STAGE", "one")
    reset_caches()
    assert wiring.docs().health().stage == "one"
    # When the stage changes and the kernel forgets its settings
    monkeypatch.setenv("KEEL_STAGE", "two")
    reset_caches()
    # Then the service answers with the new one
    assert wiring.docs().health().stage == "two"
    reset_caches()
