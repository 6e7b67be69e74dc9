"""Lambda assets built on this machine, never in Docker.

Two bundlers: ``DependencyLayer`` pip-installs the runtime set from ``pyproject.toml`` as arm64
CPython 3.13 wheels (cached under ``.build/`` by a hash of the requirement list), and ``SourceCopy``
copies our own code (a context's functions, the ``keel`` layer) without tests or caches. Both ship
``.pyc`` when a ``python3.13`` is on PATH.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = REPO_ROOT / ".build"
#: The kernel's sources: the ``keel`` layer ships this directory as ``python/``.
KERNEL = REPO_ROOT / "layers" / "keel" / "python"
LAMBDA_PYTHON = "3.13"
PIP_PLATFORM = "manylinux2014_aarch64"
#: Never shipped: caches, tests and anything that only exists for them.
_IGNORED_DIRS = frozenset({"__pycache__", "tests", ".pytest_cache", ".mypy_cache"})
_IGNORED_FILES = ("conftest.py", "test_*.py", "*_test.py", "*.pyc")


def runtime_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> tuple[str, ...]:
    """``[project].dependencies`` of ``pyproject``: what the Lambda runtime needs, no dev or CDK extras."""
    with pyproject.open("rb") as f:
        return tuple(tomllib.load(f)["project"]["dependencies"])


@cache
def lambda_interpreter() -> str | None:
    """A ``python3.13`` on PATH that really is 3.13 (a pyenv shim may only pretend), else None."""
    exe = shutil.which(f"python{LAMBDA_PYTHON}")
    if exe is None:
        print(f"note: no python{LAMBDA_PYTHON} on PATH: assets ship .py only", file=sys.stderr)
        return None
    probe = subprocess.run(  # noqa: S603 - a fixed interpreter probe
        [exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0 or probe.stdout.strip() != LAMBDA_PYTHON:
        print(f"note: {exe} is not Python {LAMBDA_PYTHON}: assets ship .py only", file=sys.stderr)
        return None
    return exe


def compile_bytecode(directory: Path) -> bool:
    """Write 3.13 ``.pyc`` next to the sources (kept for tracebacks); False when no 3.13 is at hand.

    ``unchecked-hash``: asset zips reset file times, so timestamp-checked bytecode would be ignored.
    """
    exe = lambda_interpreter()
    if exe is None:
        return False
    subprocess.run(  # noqa: S603 - our own interpreter on our own output directory
        [exe, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(directory)],
        check=True,
    )
    return True


def _shipped(path: Path) -> bool:
    return not any(path.match(pattern) for pattern in _IGNORED_FILES)


def _files(source: Path) -> Iterator[Path]:
    if source.is_file():
        yield source
        return
    for path in sorted(source.rglob("*")):
        if path.is_file() and _shipped(path) and _IGNORED_DIRS.isdisjoint(path.relative_to(source).parts):
            yield path


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


@jsii.implements(cdk.ILocalBundling)
class SourceCopy:
    """Copies ``(destination inside the asset, source path)`` entries, skipping tests and caches.

    A plain class, not a dataclass: jsii would serialize a dataclass as a struct, not call it back.
    """

    def __init__(self, entries: Sequence[tuple[str, Path]]) -> None:
        self.entries = tuple(entries)

    def __repr__(self) -> str:
        return f"SourceCopy({self.entries!r})"

    def files(self) -> Iterator[tuple[Path, Path]]:
        """(source file, path inside the asset) for every shipped file."""
        for destination, source in self.entries:
            if not source.exists():
                raise FileNotFoundError(f"{source} is missing; the asset needs it as {destination}")
            for path in _files(source):
                yield (
                    path,
                    Path(destination) / path.relative_to(source) if source.is_dir() else Path(destination),
                )

    def fingerprint(self) -> str:
        """Changes whenever a shipped file, its place in the asset or the bytecode setting changes."""
        parts: list[str | bytes] = [str(lambda_interpreter() is not None)]
        for source, inside in self.files():
            parts += [inside.as_posix(), source.read_bytes()]
        return _digest(*parts)

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_: Any) -> bool:
        out = Path(output_dir)
        for source, inside in self.files():
            (out / inside).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out / inside)
        compile_bytecode(out)
        return True


@jsii.implements(cdk.ILocalBundling)
class DependencyLayer:
    """``pip install`` of the runtime set as arm64 CPython 3.13 wheels into ``python/``."""

    def __init__(self, requirements: Sequence[str], cache_dir: Path = BUILD_DIR) -> None:
        self.requirements = tuple(requirements)
        self.cache_dir = cache_dir

    def __repr__(self) -> str:
        return f"DependencyLayer({self.requirements!r})"

    def fingerprint(self) -> str:
        bytecode = str(lambda_interpreter() is not None)
        return _digest(PIP_PLATFORM, LAMBDA_PYTHON, bytecode, *sorted(self.requirements))

    def pip_command(self, target: Path) -> list[str]:
        return [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--platform", PIP_PLATFORM, "--implementation", "cp", "--python-version", LAMBDA_PYTHON,
            "--only-binary=:all:", "--no-compile", "--target", str(target), *self.requirements,
        ]  # fmt: skip

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_: Any) -> bool:
        cached = self.cache_dir / f"dependencies-{self.fingerprint()[:16]}"
        if not cached.exists():
            building = cached.with_name(cached.name + ".building")
            shutil.rmtree(building, ignore_errors=True)
            subprocess.run(self.pip_command(building / "python"), check=True)  # noqa: S603 - fixed argv
            # Console scripts: nothing on a layer puts them on PATH.
            shutil.rmtree(building / "python" / "bin", ignore_errors=True)
            compile_bytecode(building)
            building.rename(cached)
        shutil.copytree(cached, output_dir, dirs_exist_ok=True, symlinks=True)
        return True


def local_asset(scope: Construct, bundler: SourceCopy | DependencyLayer) -> lambda_.Code:
    """A Lambda code asset bundled by ``bundler`` and keyed by its fingerprint, so unchanged input is
    not rebuilt. When the stack skips bundling (tests), nothing is read and no source must exist."""
    bundling = cdk.Stack.of(scope).bundling_required
    return lambda_.Code.from_asset(
        str(REPO_ROOT / "functions"),  # only recorded when bundling is skipped
        asset_hash=bundler.fingerprint() if bundling else _digest(repr(bundler)),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        bundling=cdk.BundlingOptions(image=cdk.DockerImage.from_registry("unused"), local=bundler),
    )


def function_sources(context: str, extra_files: Sequence[tuple[str, Path]] = ()) -> SourceCopy:
    """A context's code asset: ``functions/__init__.py``, ``functions/<context>/**`` and ``extra_files``."""
    functions = REPO_ROOT / "functions"
    own = [
        ("functions/__init__.py", functions / "__init__.py"),
        (f"functions/{context}", functions / context),
    ]
    return SourceCopy([*own, *extra_files])


def keel_layer_sources() -> SourceCopy:
    return SourceCopy([("python", KERNEL)])
