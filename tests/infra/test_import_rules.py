"""The import rules come from the topology: no context can escape them, and no package under
``functions`` can hide outside the topology."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from importlinter.api import read_configuration

from infra import imports
from infra.model import Context
from infra.topology import TOPOLOGY


def _covered(contracts: list[dict[str, object]], kind: str, key: str) -> set[str]:
    (contract,) = [c for c in contracts if c["type"] == kind]
    value = contract[key]
    assert isinstance(value, list)
    return set(value)


def test_every_context_is_independent_and_layered(tmp_path: Path) -> None:
    # Given the topology with one more context
    grown = dataclasses.replace(TOPOLOGY, contexts=(*TOPOLOGY.contexts, Context(name="inventory")))
    # When the rules are written where import-linter reads them
    read = read_configuration(str(imports.rules_file(grown, tmp_path / "rules.ini")))["contracts_options"]
    # Then every context, the new one included, is in the independence and the layers contracts
    packages = {f"functions.{ctx.name}" for ctx in grown.contexts}
    missing = packages - _covered(read, "independence", "modules")
    assert not missing, f"contexts outside the independence contract: {missing}"
    missing = packages - _covered(read, "layers", "containers")
    assert not missing, f"contexts outside the layers contract: {missing}"


def test_a_package_under_functions_that_is_no_context_is_named(tmp_path: Path) -> None:
    # Given a functions/ folder with a package the topology does not list
    for name in (*(ctx.name for ctx in TOPOLOGY.contexts), "stray"):
        (tmp_path / "functions" / name).mkdir(parents=True)
        (tmp_path / "functions" / name / "__init__.py").touch()
    # Then it is named
    assert imports.unlisted_packages(TOPOLOGY, tmp_path) == ["stray"]


def test_every_package_under_functions_is_a_context_of_the_topology() -> None:
    assert imports.unlisted_packages(TOPOLOGY) == []
