"""The local bundlers: what goes into the Lambda assets, built without Docker or the network."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from infra.cloud import bundling

UNUSED_IMAGE = cdk.DockerImage.from_registry("unused")
#: Code that must never ship: the CDK, the AWS emulator, test tooling.
FORBIDDEN = r"aws_cdk|cdk_nag|constructs|moto|pytest|hypothesis"
FORBIDDEN_IMPORT = re.compile(rf"^\s*(?:import|from)\s+({FORBIDDEN})\b", re.MULTILINE)


@pytest.fixture
def no_lambda_interpreter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a machine without python3.13: assets ship .py only."""
    monkeypatch.setattr(shutil, "which", lambda _: None)
    bundling.lambda_interpreter.cache_clear()
    yield
    bundling.lambda_interpreter.cache_clear()


@pytest.fixture
def pip(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records every command the bundlers run, and fakes pip's install into its --target."""
    commands: list[list[str]] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        target = Path(command[command.index("--target") + 1])
        (target / "pydantic").mkdir(parents=True)
        (target / "pydantic" / "__init__.py").write_text("")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", run)
    return commands


def _shipped(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}


def test_runtime_requirements_are_the_project_dependencies_without_extras(tmp_path: Path) -> None:
    # Given a pyproject with runtime dependencies and dev/cdk extras
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = ["boto3==1.0", "pydantic==2.0"]\n'
        '[project.optional-dependencies]\ndev = ["moto==5.0"]\ncdk = ["aws-cdk-lib==2.0"]\n'
    )
    # When the runtime set is read, then it is exactly [project].dependencies, pins kept
    assert bundling.runtime_requirements(pyproject) == ("boto3==1.0", "pydantic==2.0")


def test_dependency_layer_installs_arm64_cp313_wheels_of_the_runtime_set_only() -> None:
    # Given the real pyproject's runtime set
    requirements = bundling.runtime_requirements()
    # When the layer's pip command is built
    command = bundling.DependencyLayer(requirements).pip_command(Path("/out/python"))
    # Then it installs binary wheels for CPython 3.13 on arm64 Linux into the layer's python/ folder
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    joined = " ".join(command)
    for flag in (
        "--platform manylinux2014_aarch64",
        "--implementation cp",
        "--python-version 3.13",
        "--only-binary=:all:",
        "--target /out/python",
    ):
        assert flag in joined
    # And only the runtime dependencies, nothing from the dev or CDK extras
    assert command[-len(requirements) :] == list(requirements)
    assert not re.search(r"\b(aws-cdk-lib|cdk-nag|cfn-lint|moto|pytest|mypy|ruff)\b", joined)


def test_dependency_layer_bundles_locally_once_per_requirement_set(
    tmp_path: Path, pip: list[list[str]], no_lambda_interpreter: None
) -> None:
    # Given a dependency layer with an empty cache
    layer = bundling.DependencyLayer(("pydantic==2.14.3",), cache_dir=tmp_path / ".build")
    # When CDK asks it to bundle twice
    first, second = tmp_path / "first", tmp_path / "second"
    assert layer.try_bundle(str(first), image=UNUSED_IMAGE)
    assert layer.try_bundle(str(second), image=UNUSED_IMAGE)
    # Then pip ran once, never Docker, and both outputs hold the layer's python/ folder
    assert len(pip) == 1
    assert not [c for c in pip if any("docker" in part for part in c)]
    assert _shipped(first) == _shipped(second) == {"python/pydantic/__init__.py"}


def test_a_new_requirement_set_is_a_new_layer() -> None:
    # Given two requirement sets that differ in one pin, then their layers are cached and hashed apart
    old = bundling.DependencyLayer(("stripe==16.1.0",)).fingerprint()
    assert old != bundling.DependencyLayer(("stripe==16.2.0",)).fingerprint()


def test_context_asset_ships_its_code_without_tests_or_caches(
    tmp_path: Path,
    no_lambda_interpreter: None,
) -> None:
    # Given a context folder with code, tests, caches and a file that goes to the asset root
    code = tmp_path / "functions"
    for path in ("__init__.py", "billing/__init__.py", "billing/handlers/api.py", "billing/tests/test_api.py",
                 "billing/handlers/__pycache__/api.cpython-311.pyc", "billing/conftest.py"):  # fmt: skip
        (code / path).parent.mkdir(parents=True, exist_ok=True)
        (code / path).write_text("")
    (tmp_path / "openapi.json").write_text("{}")
    asset = bundling.SourceCopy(
        [("functions/__init__.py", code / "__init__.py"), ("functions/billing", code / "billing"),
         ("openapi.json", tmp_path / "openapi.json")]
    )  # fmt: skip
    # When it is bundled
    out = tmp_path / "asset"
    assert asset.try_bundle(str(out), image=UNUSED_IMAGE)
    # Then only the code and the extra file are in it
    assert _shipped(out) == {
        "functions/__init__.py",
        "functions/billing/__init__.py",
        "functions/billing/handlers/api.py",
        "openapi.json",
    }


def test_real_assets_hold_no_cdk_emulator_or_test_code(tmp_path: Path, no_lambda_interpreter: None) -> None:
    # Given the real keel layer and every context's code asset
    functions = bundling.REPO_ROOT / "functions"
    contexts = sorted(p.name for p in functions.iterdir() if (p / "__init__.py").exists())
    assets = [bundling.keel_layer_sources()] + [bundling.function_sources(name) for name in contexts]
    for index, asset in enumerate(assets):
        # When each is bundled
        out = tmp_path / str(index)
        asset.try_bundle(str(out), image=UNUSED_IMAGE)
        # Then no file in it imports the CDK, moto or test tooling, and no test file is shipped
        for path in out.rglob("*.py"):
            assert not FORBIDDEN_IMPORT.search(path.read_text()), path
            assert not path.name.startswith("test_"), path
            assert path.name != "conftest.py", path


@pytest.fixture
def python_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``python3.13`` on PATH is this test's own interpreter, whatever its version really is."""
    monkeypatch.setattr(shutil, "which", lambda _: sys.executable)
    bundling.lambda_interpreter.cache_clear()
    yield
    bundling.lambda_interpreter.cache_clear()


def test_bytecode_is_never_compiled_by_another_python(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, python_on_path: None
) -> None:
    # Given a "python3.13" on PATH that reports another version (a pyenv shim can do that)
    monkeypatch.setattr(bundling, "LAMBDA_PYTHON", "3.99")
    (tmp_path / "module.py").write_text("x = 1\n")
    # When an asset is compiled, then nothing is written: another version's .pyc would only be ignored
    assert bundling.compile_bytecode(tmp_path) is False
    assert not list(tmp_path.rglob("*.pyc"))


def test_bytecode_is_written_next_to_the_sources_by_the_lambda_python(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, python_on_path: None
) -> None:
    # Given an interpreter on PATH of exactly the Lambda runtime's version
    monkeypatch.setattr(bundling, "LAMBDA_PYTHON", "{}.{}".format(*sys.version_info[:2]))
    (tmp_path / "module.py").write_text("x = 1\n")
    # When an asset is compiled, then .pyc sit in __pycache__ and the sources stay for tracebacks
    assert bundling.compile_bytecode(tmp_path) is True
    (pyc,) = tmp_path.glob("__pycache__/module.*.pyc")
    assert (tmp_path / "module.py").exists()
    # And the .pyc is hash-based and unchecked: asset zips reset file times, so a timestamp check would fail
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01


def test_platform_asset_needs_the_openapi_document(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given a platform whose asset file is missing, and the platform stack bundling its assets
    from infra.cloud.app import build_app
    from infra.topology import TOPOLOGY, AssetFile
    from tests.infra.conftest import DEFAULT_STAGE

    platform = TOPOLOGY.context("platform")
    missing = AssetFile("openapi.json", str(tmp_path / "gone.json"), setting="OPENAPI_FILE", made_by="make x")
    without = dataclasses.replace(platform, asset_files=(missing,))
    topology = dataclasses.replace(TOPOLOGY, contexts=(without,))
    # When the app is built, then it stops and says how to make the file
    stack = platform.for_stage(DEFAULT_STAGE).stack_name
    with pytest.raises(FileNotFoundError, match="run `make x`"):
        build_app(topology, outdir=str(tmp_path), context={"aws:cdk:bundling-stacks": [stack]})
