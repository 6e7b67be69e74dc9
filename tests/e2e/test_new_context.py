"""``keel new context`` on a copy of the repository, then what ``make test`` runs on it: ruff, mypy
--strict, the import rules, the new context's own tests, and the checks that walk the topology (the
committed documents are current, settings, bench scenarios, the synthesized templates). No hand edits.

The copy holds the repository's own files (``git ls-files``: tracked, or new and not ignored) and
mypy's cache of the real tree, so mypy checks only what the command wrote."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NAME = "work_orders"


def copy_repository(destination: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():  # a deleted file stays listed until the deletion is staged
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
    if (REPO / ".mypy_cache").is_dir():
        shutil.copytree(REPO / ".mypy_cache", destination / ".mypy_cache")


def run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """``python argv`` in ``root``, importing the copy's code (not this checkout's)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "layers" / "keel" / "python")])}
    return subprocess.run(
        [sys.executable, *argv], cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of the repository where ``keel new context work_orders`` ran; and what it printed."""
    root = tmp_path_factory.mktemp("repo")
    copy_repository(root)
    created = run(root, "-m", "infra.local.cli", "new", "context", NAME)
    assert created.returncode == 0, created.stderr
    return root, created.stdout


def test_the_command_names_every_file_it_wrote_and_the_next_steps(repo: tuple[Path, str]) -> None:
    root, said = repo
    written = [p.relative_to(root) for p in root.rglob("*") if NAME in str(p.relative_to(root)) and p.is_file()]
    assert written
    for path in written:
        assert f"  created  {path}\n" in said, path
    assert "  updated  docs/openapi.json\n" in said
    assert "Next steps:" in said


def test_ruff_finds_nothing_to_lint_or_reformat(repo: tuple[Path, str]) -> None:
    root, _ = repo
    for argv in (("check", "--no-cache", "."), ("format", "--no-cache", "--check", ".")):
        result = run(root, "-m", "ruff", *argv)
        assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing(repo: tuple[Path, str]) -> None:
    root, _ = repo
    result = run(root, "-m", "mypy", "functions", "layers/keel/python/keel", "infra")
    assert result.returncode == 0, result.stdout


def test_the_import_rules_cover_the_new_context_and_hold(repo: tuple[Path, str]) -> None:
    root, _ = repo
    result = run(root, "-m", "infra.imports")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"functions.{NAME}" in (root / ".build" / "import-rules.ini").read_text()


def test_its_own_tests_pass(repo: tuple[Path, str]) -> None:
    root, _ = repo
    result = run(root, "-m", "pytest", f"tests/unit/{NAME}", f"tests/integration/{NAME}")
    assert result.returncode == 0, result.stdout[-4000:]


def test_every_check_that_walks_the_topology_passes_with_it(repo: tuple[Path, str]) -> None:
    # The committed documents are current; its settings, bench scenario and stack agree with the topology;
    # its handler is instrumented
    root, _ = repo
    checks = (
        "tests/contract/test_generated_files.py",
        "tests/infra/test_context_settings.py",
        "tests/infra/test_topology_agreement.py",
        "tests/infra/test_instrumentation.py",
        "tests/unit/test_bench_scenarios.py",
    )
    result = run(root, "-m", "pytest", *checks, "-k", "not sample")
    assert result.returncode == 0, result.stdout[-4000:]
