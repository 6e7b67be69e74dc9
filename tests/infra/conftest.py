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
DEPLOYMENT: dict[str, object] = {"keel:settings": {"KEEL_IDENTITY_INVITE_URL_TEMPLATE": INVITE_URL}}


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
