"""One synthesis per topology per test run, shared by every infra test of every xdist worker.

``keel`` is the real topology, synthesized as a release is: two stages (staging, then prod) side by
side in one assembly; ``sample`` (``sample_topology.py``) uses what the real one does not yet: tables,
an authorizer, private routes, consumers and a job, in one stage. Bundling is skipped, so no test needs
the network or pip; the bundlers themselves are tested in ``test_bundling.py``.

A synth takes a core for 10-20 s, so the workers of a run share one per topology (``_synthesized``):
the first to want one builds it under a file lock in the run's shared temp dir, the others read it.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from infra.cloud import checks
from infra.cloud.bundling import REPO_ROOT
from infra.topology import TOPOLOGY, Topology
from tests.infra.cfn import Synthesized
from tests.infra.sample_topology import SAMPLE

SKIP_BUNDLING: dict[str, object] = {"aws:cdk:bundling-stacks": []}
#: The stage an app built with ``cdk.json``'s context alone renders (its ``keel:stage``).
DEFAULT_STAGE: str = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["keel:stage"]
#: A per-deployment setting, as ``cdk.json`` would give it under ``keel:settings``.
INVITE_URL = "https://app.example.com/invitations/accept?token={token}"
#: Browser origins of the deployment's apps (``keel:api``).
ORIGINS = ("https://app.example.com", "https://admin.example.com")
#: A production-ready user pool (``keel:cognito``): SES sender, code flow to real URLs, required MFA.
COGNITO: dict[str, object] = {
    "from_email": "no-reply@example.com",
    "from_name": "Example",
    "ses_verified_domain": "example.com",
    "callback_urls": ["https://app.example.com/signed-in"],
    "logout_urls": ["https://app.example.com/signed-out"],
    "mfa": "required",
}
ACCESS_LOG_RETENTION_DAYS = 90
#: Two stages as a team runs them (``keel:stages``): staging shifts traffic linearly and may be
#: destroyed; prod shifts by canary and keeps its data.
STAGING: dict[str, Any] = {
    "log_level": "DEBUG",
    "tracing_sample_rate": 0.5,
    "authorizer_cache_seconds": 60,
    "deploy": "Linear10PercentEvery1Minute",
    "log_retention_days": 14,
    "archive_retention_days": 7,
    "removal": "destroy",
}
PROD: dict[str, Any] = {
    "log_level": "INFO",
    "tracing_sample_rate": 0.05,
    "authorizer_cache_seconds": 300,
    "deploy": "Canary10Percent5Minutes",
    "log_retention_days": 90,
    "archive_retention_days": 365,
    "removal": "retain",
    # A stage's own values over the shared keel:api: prod's app is served from one origin only.
    "api": {"cors_origins": [ORIGINS[0]]},
}
STAGES: dict[str, dict[str, Any]] = {"staging": STAGING, "prod": PROD}
DEPLOYMENT: dict[str, object] = {
    "keel:stages": STAGES,
    "keel:settings": {"KEEL_IDENTITY_INVITE_URL_TEMPLATE": INVITE_URL},
    "keel:api": {"cors_origins": list(ORIGINS), "access_log_retention_days": ACCESS_LOG_RETENTION_DAYS},
    "keel:cognito": COGNITO,
}


#: What each shared synth renders: its topology and the ``keel:stage`` it is given.
SYNTHS: dict[str, tuple[Topology, str]] = {"keel": (TOPOLOGY, "*"), "sample": (SAMPLE, "staging")}
_DONE = "synthesized"


@contextmanager
def _locked(lock: Path, *, wait: bool) -> Iterator[bool]:
    """Holds ``lock`` (exclusive, across processes) for the block; with ``wait=False``, yields False
    at once if another process holds it."""
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(root: Path, name: str, *, wait: bool) -> bool:
    """Synthesizes ``name`` into ``root`` unless it is already there; False if another process is on
    it (and ``wait`` is False)."""
    outdir = root / f"{name}-cdk.out"
    with _locked(root / f"{name}.lock", wait=wait) as held:
        if held and not (outdir / _DONE).exists():
            shutil.rmtree(outdir, ignore_errors=True)  # what a failed attempt left
            topology, stage = SYNTHS[name]
            checks.synth(outdir, topology, SKIP_BUNDLING | DEPLOYMENT | {"keel:stage": stage})
            (outdir / _DONE).touch()
        return held


def _prefetched(root: Path, name: str) -> bool:
    """``_build`` without waiting, for a synth this worker does not need yet: if it fails, the test
    that needs it builds it again and reports why."""
    try:
        return _build(root, name, wait=False)
    except Exception:  # reported by the test that needs it, when it builds it again
        return False


def _synthesized(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory, name: str) -> Synthesized:
    """The run's one synth of ``name``. While another worker builds it, this one builds a synth nobody
    has started (the session will want it too), rather than wait idle."""
    root = tmp_path_factory.getbasetemp()
    # An xdist worker's own config says so (``workerinput``); the environment would not do: a pytest
    # that a test starts inherits PYTEST_XDIST_WORKER, and would share a dir with every other run.
    if hasattr(config, "workerinput"):
        root = root.parent  # the run's basetemp, above each worker's own
    outdir = root / f"{name}-cdk.out"
    while not (outdir / _DONE).exists():
        if _build(root, name, wait=False):
            continue
        others = [other for other in SYNTHS if other != name and not (root / f"{other}-cdk.out" / _DONE).exists()]
        if not any(_prefetched(root, other) for other in others):
            _build(root, name, wait=True)
    topology, _ = SYNTHS[name]
    return Synthesized.read(topology, outdir)


@pytest.fixture(scope="session")
def keel(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Every stage of ``STAGES`` from one synth: what ``make synth`` promotes."""
    return _synthesized(pytestconfig, tmp_path_factory, "keel")


@pytest.fixture(scope="session")
def sample(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synthesized(pytestconfig, tmp_path_factory, "sample")


@pytest.fixture(params=["keel", "sample"])
def synthesized(request: pytest.FixtureRequest) -> Synthesized:
    """Each test that takes this runs against both topologies."""
    result: Synthesized = request.getfixturevalue(request.param)
    return result
