"""Test-wide environment: fake AWS credentials and region, tracing off, unique Keel settings."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.local.environment import local_tenant_role_arn
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
    # Tenants act with their own credentials in every test, as in the cloud (keel.isolation).
    | STAGED.tenant_isolation_environment(local_tenant_role_arn(STAGED), [*STAGED.contexts, THINGS])
    | THINGS.environment
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


def _read_aws_models_once() -> None:
    """Every botocore session of the test process shares one loader of AWS's service models. A
    session parses them on its first client (~0.3 s for DynamoDB and SQS), and tests make many
    sessions: ``mock_aws`` drops boto3's default session per test, and ``keel.aws`` (whose caches
    each test resets) makes one per client. The models are read-only data, the same for all."""
    import botocore.loaders
    import botocore.session

    botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)  # type: ignore[assignment]


_read_aws_models_once()


@pytest.fixture
def aws() -> Iterator[None]:
    """A fresh moto account per test, with Keel's cached clients and settings forgotten, patched as
    ``keel dev`` patches it (``infra/local/moto_patches.py``, ``moto_apigateway.py``, ``moto_ses.py``)."""
    from moto import mock_aws

    from infra.local import moto_apigateway, moto_patches, moto_ses
    from tests.support.moto import reset_keel_caches

    moto_patches.install()
    moto_apigateway.install()
    moto_ses.install()
    with mock_aws():
        reset_keel_caches()
        yield
    reset_keel_caches()


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is now (pytest swaps it per test and per capture fixture)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


_CURRENT_STDOUT = _CurrentStdout()


def _follow_stdout() -> None:
    # Powertools binds each logger to the sys.stdout of the moment it is made; make them follow it.
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in logger.handlers if isinstance(logger, logging.Logger) else ():
            if type(handler) is logging.StreamHandler and handler.stream not in (sys.stderr, sys.__stderr__):
                with handler.lock or contextlib.nullcontext():  # not setStream: it flushes a stream maybe closed
                    handler.stream = _CURRENT_STDOUT


@pytest.fixture
def printed(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """What the code under test prints from now on (log lines and EMF documents): a function that
    returns all of it so far. Loggers made by earlier tests print here too, at INFO (a local runtime
    makes its handlers' loggers at WARNING unless verbose)."""
    _follow_stdout()
    made = [lg for lg in logging.Logger.manager.loggerDict.values() if getattr(lg, "powertools_handler", None)]
    levels = {logger: logger.level for logger in made if isinstance(logger, logging.Logger)}
    for logger in levels:
        logger.setLevel(logging.INFO)
    capsys.readouterr()
    seen: list[str] = []

    def so_far() -> str:
        seen.append(capsys.readouterr().out)
        return "".join(seen)

    try:
        yield so_far
    finally:
        _follow_stdout()  # those made during the test, bound to this test's captured stdout
        for logger, level in levels.items():
            logger.setLevel(level)


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects among printed lines (log lines and EMF documents), in order."""
    lines = []
    for line in text.splitlines():
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            lines.append(parsed)
    return lines
