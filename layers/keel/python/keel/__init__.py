"""Keel's shared kernel, shipped to every function as a Lambda layer.

Nothing here reads the environment or opens a connection at import time, and nothing here
imports from ``functions``.
"""


def reset_caches() -> None:
    """Forget every per-container cache of the kernel: settings, boto3 clients, the idempotency store.

    For tests and the local runtime, which change the environment (or start a new moto) between runs.
    """
    from keel import aws, idempotency, settings  # noqa: PLC0415 - keep ``import keel`` free

    settings.reset()
    aws.reset()
    idempotency.reset()
