"""Lambda functions run in-process: the handler module named in the topology, a fake context,
and one invocation at a time per function, as one warm Lambda container would run them.

Serialising per function matters: a Powertools resolver keeps the current event on a module-level
object, so two concurrent requests into the same handler would see each other's event.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.local.shapes import ACCOUNT_ID


class FunctionBusy(RuntimeError):
    """The function's one container stayed busy for longer than the function's timeout."""


@dataclass
class LocalLambdaContext:
    """The parts of ``LambdaContext`` that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    timeout_seconds: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    """One Lambda function: a handler module path plus the settings its context reports."""

    def __init__(
        self, name: str, handler: str, *, region: str, timeout_seconds: float = 30, memory_mb: int = 1024
    ) -> None:
        self.name = name
        self.handler = handler
        self.region = region
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self._container = threading.Lock()

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.name}"

    def context(self) -> LocalLambdaContext:
        return LocalLambdaContext(
            function_name=self.name,
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.memory_mb,
            aws_request_id=str(uuid.uuid4()),
            timeout_seconds=self.timeout_seconds,
        )

    def invoke(self, event: Mapping[str, Any]) -> Any:
        """Call ``<module>.handler(event, context)``; the module is imported on first use (the cold start)."""
        entry = importlib.import_module(self.handler).handler
        if not self._container.acquire(timeout=self.timeout_seconds):
            raise FunctionBusy(f"{self.name} stayed busy for {self.timeout_seconds:g} s")
        try:
            return entry(event, self.context())
        finally:
            self._container.release()

    def is_importable(self) -> bool:
        """Whether the handler module can be found, without importing it."""
        try:
            return importlib.util.find_spec(self.handler) is not None
        except ImportError:
            return False
