"""One synthesis per topology per session, shared by every infra test.

``keel`` is the real topology, synthesized as a release is: two stages (staging, then prod) side by
side in one assembly; ``sample`` (``sample_topology.py``) uses what the real one does not yet: tables,
an authorizer, private routes, consumers and a job, in one stage. Bundling is skipped, so no test needs
the network or pip; the bundlers themselves are tested in ``test_bundling.py``.
"""

from __future__ import annotations

import json
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


def _synth(topology: Topology, outdir: Path, stage: str) -> Synthesized:
    checks.synth(outdir, topology, SKIP_BUNDLING | DEPLOYMENT | {"keel:stage": stage})
    return Synthesized.read(topology, outdir)


@pytest.fixture(scope="session")
def keel(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Every stage of ``STAGES`` from one synth: what ``make synth`` promotes."""
    return _synth(TOPOLOGY, tmp_path_factory.mktemp("keel-cdk.out"), "*")


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synth(SAMPLE, tmp_path_factory.mktemp("sample-cdk.out"), "staging")


@pytest.fixture(params=["keel", "sample"])
def synthesized(request: pytest.FixtureRequest) -> Synthesized:
    """Each test that takes this runs against both topologies."""
    result: Synthesized = request.getfixturevalue(request.param)
    return result
