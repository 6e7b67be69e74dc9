"""One synthesis per topology per session, shared by every infra test.

``keel`` is the real topology; ``sample`` (``sample_topology.py``) uses what the real one does not yet:
tables, an authorizer, private routes, consumers and a job. Bundling is skipped, so no test needs the
network or pip; the bundlers themselves are tested in ``test_bundling.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.cloud import checks
from infra.topology import TOPOLOGY, Topology
from tests.infra.cfn import Synthesized
from tests.infra.sample_topology import SAMPLE

SKIP_BUNDLING: dict[str, object] = {"aws:cdk:bundling-stacks": []}
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
DEPLOYMENT: dict[str, object] = {
    "keel:settings": {"KEEL_IDENTITY_INVITE_URL_TEMPLATE": INVITE_URL},
    "keel:api": {"cors_origins": list(ORIGINS), "access_log_retention_days": ACCESS_LOG_RETENTION_DAYS},
    "keel:cognito": COGNITO,
}


def _synth(topology: Topology, outdir: Path) -> Synthesized:
    checks.synth(outdir, topology, SKIP_BUNDLING | DEPLOYMENT)
    return Synthesized.read(topology, outdir)


@pytest.fixture(scope="session")
def keel(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synth(TOPOLOGY, tmp_path_factory.mktemp("keel-cdk.out"))


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synth(SAMPLE, tmp_path_factory.mktemp("sample-cdk.out"))


@pytest.fixture(params=["keel", "sample"])
def synthesized(request: pytest.FixtureRequest) -> Synthesized:
    """Each test that takes this runs against both topologies."""
    result: Synthesized = request.getfixturevalue(request.param)
    return result
