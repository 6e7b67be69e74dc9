"""The topology as tests render it: one stage, ``test``. Tests take names from here (``STAGED``), as the
handlers under test take them from the settings the renderers derive from the same names."""

from __future__ import annotations

from infra.model import Context
from infra.topology import TOPOLOGY

TEST_STAGE = "test"
STAGED = TOPOLOGY.for_stage(TEST_STAGE)
IDENTITY = STAGED.context("identity")
#: The test-only context of tests/support/things.py, its settings named as every context's are.
THINGS = Context(name="things").for_stage(TEST_STAGE)
