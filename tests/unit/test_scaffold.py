"""``keel new context``: which names it takes, what it writes, and what it refuses (changing nothing).

The generated context itself is proven in ``tests/e2e/test_new_context.py`` (ruff, mypy, import rules
and its own tests on a copy of the repository)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import scaffold
from infra.topology import TOPOLOGY

REPO = Path(__file__).resolve().parents[2]


def files_under(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("name", "entity", "path", "event_type"),
    [
        ("projects", "project", "/v1/projects", "projects.project.created.v1"),
        ("work_orders", "work_order", "/v1/work-orders", "work_orders.work_order.created.v1"),
        ("billing", "billing_item", "/v1/billing", "billing.billing_item.created.v1"),
        ("categories", "category", "/v1/categories", "categories.category.created.v1"),
        ("demo2", "demo2_item", "/v1/demo2", "demo2.demo2_item.created.v1"),
    ],
)
def test_a_context_name_gives_its_entity_path_and_event(name: str, entity: str, path: str, event_type: str) -> None:
    names = scaffold.names_for(name)
    assert (names.entity, names.path, names.event_type) == (entity, path, event_type)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Projects", "not a valid context name"),
        ("2fast", "not a valid context name"),
        ("work-orders", "not a valid context name"),
        ("class", "not a valid context name"),
        ("keel", "reserved"),
        ("tests", "reserved"),
        ("infra", "reserved"),
        ("a" * 21, "longer than"),
        ("errors", "clash"),
        ("a" * 20, "too long"),
    ],
)
def test_a_name_that_cannot_be_a_context_is_refused(name: str, reason: str) -> None:
    with pytest.raises(scaffold.Refused, match=reason):
        scaffold.names_for(name)


@pytest.mark.parametrize("name", ["identity", "platform"])
def test_a_context_that_exists_is_refused(name: str) -> None:
    names = scaffold.names_for(name)
    assert "already has a context" in str(scaffold.refusal(names, REPO, TOPOLOGY))


def test_a_path_another_context_routes_is_refused() -> None:
    # Given a name whose API prefix identity already routes
    names = scaffold.names_for("members")
    # Then it is refused, naming the owner
    assert scaffold.refusal(names, REPO, TOPOLOGY) == "/v1/members is already routed to identity: choose another name"


def test_leftover_files_of_a_name_are_refused(tmp_path: Path) -> None:
    # Given a repository where functions/tickets exists but no context is registered
    (tmp_path / "functions" / "tickets").mkdir(parents=True)
    # Then the name is refused, naming what is in the way
    why = scaffold.refusal(scaffold.names_for("tickets"), tmp_path, TOPOLOGY)
    assert why is not None
    assert why.startswith("'tickets' exists: functions/tickets")


def test_every_file_of_the_paved_road_is_rendered() -> None:
    files = {str(p) for p in scaffold.render(scaffold.names_for("projects"), REPO)}
    assert files == {
        "functions/projects/__init__.py",
        "functions/projects/settings.py",
        "functions/projects/wiring.py",
        "functions/projects/handlers/__init__.py",
        "functions/projects/handlers/api.py",
        "functions/projects/handlers/views.py",
        "functions/projects/domain/__init__.py",
        "functions/projects/domain/project.py",
        "functions/projects/domain/projects.py",
        "functions/projects/domain/ports.py",
        "functions/projects/domain/errors.py",
        "functions/projects/adapters/__init__.py",
        "functions/projects/adapters/store.py",
        "tests/unit/projects/__init__.py",
        "tests/unit/projects/test_projects.py",
        "tests/integration/projects/__init__.py",
        "tests/integration/projects/test_api.py",
        "infra/contexts/projects.py",
        "bench/scenarios/projects.py",
        "layers/keel/python/keel/contracts/projects.py",
    }


def test_a_contract_module_that_exists_gets_the_example_contract_added(tmp_path: Path) -> None:
    # Given billing's contract module, which identity's consumer needs before billing exists
    contracts = Path("layers/keel/python/keel/contracts")
    (tmp_path / contracts).mkdir(parents=True)
    shutil.copy(REPO / contracts / "billing.py", tmp_path / contracts / "billing.py")
    # When billing's context is rendered
    rendered = scaffold.render(scaffold.names_for("billing"), tmp_path)[contracts / "billing.py"]
    # Then the module keeps what it defines and gains the example's contract
    before = (REPO / contracts / "billing.py").read_text()
    assert rendered.startswith(before)
    assert 'TYPE = "billing.billing_item.created.v1"' in rendered


def test_the_longest_names_give_code_that_ruff_accepts(tmp_path: Path) -> None:
    # Given a context and an entity of the longest names allowed
    names = scaffold.names_for("a" * 19 + "s", entity="b" * 19 + "x")  # its plural, "...xes", is the longest
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    files = scaffold.render(names, REPO)
    scaffold.write(files, tmp_path)
    # When the command tidies them (imports sorted, lines broken where the names make them long)
    assert scaffold.tidy(list(files), tmp_path)
    # Then ruff finds nothing to lint or reformat (with the repository's settings)
    ruff = [sys.executable, "-m", "ruff"]
    for argv in (("check", "--no-cache", "."), ("format", "--no-cache", "--check", ".")):
        result = subprocess.run([*ruff, *argv], cwd=tmp_path, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout


def test_create_writes_says_every_file_and_regenerates_the_documents(tmp_path: Path) -> None:
    said: list[str] = []
    regenerated: list[str] = []

    def regenerate(topology: object) -> list[tuple[str, str]]:
        regenerated.append("called")
        return [("updated", "docs/openapi.json")]

    # When a context is created in an empty repository
    scaffold.create("tickets", entity=None, root=tmp_path, topology=TOPOLOGY, say=said.append, regenerate=regenerate)
    # Then every file is written and named, and the documents were regenerated
    written = files_under(tmp_path)
    assert written == set(scaffold.render(scaffold.names_for("tickets"), REPO))
    assert {f"  created  {p}" for p in written} | {"  updated  docs/openapi.json"} <= set(said)
    assert regenerated == ["called"]


def test_a_failed_regeneration_takes_everything_back(tmp_path: Path) -> None:
    # Given a contract module that exists, and documents that cannot be regenerated
    contracts = tmp_path / "layers/keel/python/keel/contracts"
    contracts.mkdir(parents=True)
    original = "from keel.events import Contract, contract\n"
    (contracts / "tickets.py").write_text(original)

    def broken(topology: object) -> list[tuple[str, str]]:
        raise RuntimeError("no OpenAPI document")

    # When the context is created, then the error comes through
    with pytest.raises(RuntimeError):
        scaffold.create("tickets", entity=None, root=tmp_path, topology=TOPOLOGY, say=print, regenerate=broken)
    # And only what was there before is left, as it was
    assert files_under(tmp_path) == {Path("layers/keel/python/keel/contracts/tickets.py")}
    assert (contracts / "tickets.py").read_text() == original


def test_a_refused_context_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(scaffold.Refused):
        scaffold.create("identity", entity=None, root=tmp_path, topology=TOPOLOGY, say=print)
    assert files_under(tmp_path) == set()


def test_the_command_refuses_an_existing_context_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    from infra.local import cli

    # When the command is asked for a context the topology has
    status = cli.main(["new", "context", "identity"])
    # Then it fails without a traceback, saying why
    assert status == 2
    assert "cannot create the context: the topology already has a context called 'identity'" in capsys.readouterr().err


def test_regenerating_the_documents_names_each_one_it_writes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from infra import generate

    # Given a repository whose documents are not written yet
    monkeypatch.setattr(generate, "ROOT", tmp_path)
    monkeypatch.setattr(generate, "OPENAPI_FILE", tmp_path / "docs" / "openapi.json")
    monkeypatch.setattr(generate, "SCHEMA_DIR", tmp_path / "events" / "schemas")
    # When they are regenerated for the topology, then each is written and named as created
    changed = scaffold.regenerate_documents(TOPOLOGY)
    assert ("created", "docs/openapi.json") in changed
    assert {path for _, path in changed} == {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.json")}
    # And a second run changes nothing
    assert scaffold.regenerate_documents(TOPOLOGY) == []
