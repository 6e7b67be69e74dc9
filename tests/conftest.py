"""Test-wide environment: fake AWS credentials and region, tracing off, unique Keel settings."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from infra.model import Context
from tests.support.staged import STAGED, TEST_STAGE

#: The test-only context of tests/support/things.py, its settings named as every context's are.
THINGS = Context(name="things").for_stage(TEST_STAGE)

# Set before anything imports boto3 or Powertools; never real credentials in tests.
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        # botocore would route DynamoDB (Streams) to account-id endpoints that moto does not serve.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Keel",
        "POWERTOOLS_DEV": "false",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    | STAGED.platform_environment()
    | THINGS.environment
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture
def aws() -> Iterator[None]:
    """A fresh moto account per test, with Keel's cached clients and settings forgotten, patched as
    ``keel dev`` patches it (``infra/local/moto_patches.py``)."""
    from moto import mock_aws

    from infra.local import moto_patches
    from tests.support.moto import reset_keel_caches

    moto_patches.install()
    with mock_aws():
        reset_keel_caches()
        yield
    reset_keel_caches()
