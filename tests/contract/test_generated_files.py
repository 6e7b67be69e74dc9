"""Generated, committed artefacts are current: a change to a route or a contract must regenerate them."""

from __future__ import annotations

from infra import generate


def test_the_committed_openapi_document_is_current() -> None:
    assert generate.stale("openapi") == [], "run `make openapi` and commit docs/openapi.json"


def test_the_committed_event_schemas_are_current() -> None:
    assert generate.stale("events") == [], "run `make events` and commit events/schemas/"


def test_a_stale_document_is_detected_and_regenerated(tmp_path, monkeypatch) -> None:
    # Given a committed document that no longer matches the routes
    monkeypatch.setattr(generate, "ROOT", tmp_path)
    monkeypatch.setattr(generate, "OPENAPI_FILE", tmp_path / "docs" / "openapi.json")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "openapi.json").write_text('{"openapi": "3.1.0", "paths": {}}\n')
    # Then the check names it, and regenerating makes it current
    assert generate.stale("openapi") == ["docs/openapi.json"]
    generate.write("openapi")
    assert generate.stale("openapi") == []


def test_every_operation_in_the_document_declares_its_access() -> None:
    document = generate.openapi_document()
    operations = [(p, m, op) for p, ops in document["paths"].items() for m, op in ops.items()]
    assert operations
    missing = [f"{m.upper()} {p}" for p, m, op in operations if "x-keel-access" not in op]
    assert missing == []
