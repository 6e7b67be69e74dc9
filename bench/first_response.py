"""First response: each API handler's import + init + first request, in a fresh interpreter, against
the running local runtime's moto, as a ratio to a minimal Powertools handler making the same DynamoDB
requests (budget 1.3x).

The request is the first one the context's request-count scenario sends (``Harness.first_calls``),
or the variant its scenario module names with ``first_request(n)`` (a replayed sign-up would find
its slug taken), sent again through the real local gateway and authorizer (as a new user where it
carried a credential) and captured before it reaches the handler. A probe process then imports the
handler and calls it with that event. The DynamoDB requests it makes are counted at the moto server
(the probe names itself in its User-Agent). The floor is the handler Powertools' own examples start
with (Logger, Metrics and Tracer, an ``APIGatewayRestResolver`` with validation) whose one route
makes requests of the same operations, one item each, on the context's table. Floor and handler
run interleaved, as the cold-start figures do.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bench import scenarios
from bench.coldstart import ROOT, interleave
from bench.harness import Call, Harness
from infra.local import moto_state
from infra.topology import Context

BUDGET = 1.3
#: Samples per figure: each is a whole handler's cold start plus a request, so fewer than cold starts take.
ROUNDS = 5
#: The probes name themselves in their User-Agent (``app/<id>``) so moto can count their requests.
APP_ID = "keel-first-response"
_DYNAMODB_TARGET = "DynamoDB_20120810."

_CONTEXT = """
class Context:
    function_name = "first-response"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:first-response"
    memory_limit_in_mb = 1024
    aws_request_id = "first-response"
    log_group_name = "/aws/lambda/first-response"
    log_stream_name = "local"
    def get_remaining_time_in_millis(self):
        return 29000
"""

HANDLER = (
    """
import json, sys, time
"""
    + _CONTEXT
    + """
event = json.loads(sys.stdin.read())
t0 = time.perf_counter()
from {module} import handler
result = handler(event, Context())
elapsed = time.perf_counter() - t0
print(json.dumps({{"seconds": elapsed, "status": result.get("statusCode")}}))
"""
)

FLOOR = (
    """
import json, sys, time
"""
    + _CONTEXT
    + """
event = json.loads(sys.stdin.read())
t0 = time.perf_counter()
import uuid
import boto3, pydantic
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
logger = Logger(service="floor")
metrics = Metrics(service="floor", namespace="Keel")
tracer = Tracer(service="floor")
app = APIGatewayRestResolver(enable_validation=True)
TABLE = {table!r}
KEY = {{"pk": {{"S": "FLOOR"}}, "sk": {{"S": "FLOOR"}}}}

def transact(ddb):
    item = {{"pk": {{"S": "FLOOR"}}, "sk": {{"S": str(uuid.uuid4())}}}}
    ddb.transact_write_items(TransactItems=[{{"Put": {{"TableName": TABLE, "Item": item}}}}])

REQUESTS = {{
    "GetItem": lambda ddb: ddb.get_item(TableName=TABLE, Key=KEY),
    "BatchGetItem": lambda ddb: ddb.batch_get_item(RequestItems={{TABLE: {{"Keys": [KEY]}}}}),
    "Query": lambda ddb: ddb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={{":pk": {{"S": "FLOOR"}}}},
        Limit=50,
    ),
    "TransactWriteItems": transact,
    "PutItem": lambda ddb: ddb.put_item(TableName=TABLE, Item=KEY),
    "UpdateItem": lambda ddb: ddb.update_item(
        TableName=TABLE, Key=KEY, UpdateExpression="SET n = :n", ExpressionAttributeValues={{":n": {{"N": "1"}}}}
    ),
    "DeleteItem": lambda ddb: ddb.delete_item(TableName=TABLE, Key=KEY),
}}

@app.route({path!r}, method={method!r})
def route():
    operations = {operations!r}
    if operations:
        ddb = boto3.client("dynamodb")
        for operation in operations:
            REQUESTS[operation](ddb)
    return {{"ok": True}}

result = app.resolve(event, Context())
elapsed = time.perf_counter() - t0
print(json.dumps({{"seconds": elapsed, "status": result.get("statusCode")}}))
"""
)
#: The operations the floor knows how to make; a handler making another has no floor (it says so).
FLOOR_OPERATIONS = frozenset(
    {"GetItem", "BatchGetItem", "Query", "TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem"}
)


@dataclass(frozen=True)
class FirstResponse:
    context: str
    route: str
    seconds: float
    floor_seconds: float
    ratio: float
    operations: dict[str, int]
    statuses: frozenset[int]

    @property
    def breaches(self) -> list[str]:
        out = []
        if self.ratio > BUDGET:
            out.append(f"ratio {self.ratio:.2f} > {BUDGET}")
        if any(status >= 500 for status in self.statuses):
            out.append(f"the handler answered {sorted(self.statuses)}")
        return out


class OperationCounter:
    """Counts DynamoDB operations that reach the moto server from probes with a given app id."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}

    def __call__(self, environ: Mapping[str, Any]) -> None:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        agent = str(environ.get("HTTP_USER_AGENT", ""))
        if target.startswith(_DYNAMODB_TARGET) and f"app/{APP_ID}-" in agent:
            probe = agent.split(f"app/{APP_ID}-", 1)[1].split(" ", 1)[0]
            self.counts.setdefault(probe, Counter())[target.removeprefix(_DYNAMODB_TARGET)] += 1


@contextmanager
def _captured_by_handler(harness: Harness, context: str) -> Iterator[list[dict[str, Any]]]:
    """While active, requests for ``context`` stop at its handler's door: their events are kept."""
    function = harness.runtime.api_functions[context]
    events: list[dict[str, Any]] = []
    invoke = function.invoke

    def keep(event: Any) -> Any:
        events.append(copy.deepcopy(dict(event)))
        return {"statusCode": 204, "body": ""}

    function.invoke = keep  # type: ignore[method-assign]
    try:
        yield events
    finally:
        function.invoke = invoke  # type: ignore[method-assign]


def first_call(harness: Harness, ctx: Context, n: int) -> Call | None:
    """The ``n``-th replay of the first request ``ctx``'s scenario sent (``None``: it sent none); the
    scenario module's ``first_request(n) -> (method, path, body)`` varies it where a replay must differ."""
    recorded = harness.first_calls.get(ctx.name)
    if recorded is None:
        return None
    try:
        scenario = importlib.import_module(f"{scenarios.__name__}.{ctx.name}")
    except ModuleNotFoundError:
        return recorded
    vary = getattr(scenario, "first_request", None)
    if vary is None:
        return recorded
    method, path, body = vary(n)
    return Call(method, path, body, recorded.headers)


def capture_event(harness: Harness, context: str, call: Call) -> dict[str, Any]:
    """The event the local gateway hands ``context``'s handler for ``call``, made again as a new user
    when the call carried a credential (the same caller when a new one is not allowed in)."""
    attempts = [call.headers]
    if "Authorization" in call.headers:
        fresh = harness.token(f"first-response-{uuid.uuid4().hex[:12]}@example.com")
        attempts.insert(0, {**call.headers, "Authorization": f"Bearer {fresh}"})
    for headers in attempts:
        with _captured_by_handler(harness, context) as events:
            harness.call(call.method, call.path, call.body, headers)
        if events:
            return events[0]
    raise RuntimeError(f"{call.method} {call.path} never reached the {context} handler")


def _probe(script: str, event: dict[str, Any], probe_id: str) -> tuple[float, int]:
    env = dict(os.environ)  # the local runtime's settings are applied to this process's environment
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'layers/keel/python'}",
        AWS_SDK_UA_APP_ID=f"{APP_ID}-{probe_id}",
        POWERTOOLS_LOG_LEVEL="WARNING",
        POWERTOOLS_METRICS_DISABLED="true",
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(event),
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    return float(answer["seconds"]), int(answer["status"])


def measure_context(harness: Harness, ctx: Context, rounds: int) -> FirstResponse | str:
    """The first-response figure of ``ctx``'s API handler, or why there is none."""
    assert ctx.api_handler is not None
    calls = [call for n in range(rounds + 2) if (call := first_call(harness, ctx, n)) is not None]
    if not calls:
        return "its scenario sends it no request"
    counter = OperationCounter()
    assert harness.runtime.moto is not None
    with moto_state.requests_observed(harness.runtime.moto, counter):
        try:
            return _measure(harness, ctx, calls, counter, rounds)
        except subprocess.CalledProcessError as failed:
            return f"a probe failed: {(failed.stderr or '').strip().splitlines()[-1:]}"


def _measure(
    harness: Harness, ctx: Context, calls: list[Call], counter: OperationCounter, rounds: int
) -> FirstResponse | str:
    """``calls``: ``rounds + 2`` replays of the first request (one to learn, one for the floor, one per round)."""
    assert ctx.api_handler is not None
    call = calls[0]
    # A first run learns which requests the handler makes (and warms the OS file cache).
    _, learned = _probe(HANDLER.format(module=ctx.api_handler), capture_event(harness, ctx.name, call), "learn")
    statuses = {learned}
    operations = dict(counter.counts.get("learn", Counter()))
    unknown = set(operations) - FLOOR_OPERATIONS
    if unknown:
        return f"no floor for {', '.join(sorted(unknown))}"
    if operations and not ctx.table:
        return "it makes DynamoDB requests but has no table for the floor's"
    events = iter([capture_event(harness, ctx.name, c) for c in calls[2:]])
    floor_event = capture_event(harness, ctx.name, calls[1])
    sequence = [name for name, count in sorted(operations.items()) for _ in range(count)]
    floor_script = FLOOR.format(
        table=ctx.table_name, path=call.path.split("?", 1)[0], method=call.method, operations=sequence
    )

    def floor() -> float:
        return _probe(floor_script, floor_event, "floor")[0]

    def handler() -> float:
        seconds, status = _probe(HANDLER.format(module=ctx.api_handler), next(events), "handler")
        statuses.add(status)
        return seconds

    (result,) = interleave(floor, [handler], rounds)
    route = f"{call.method} {call.path}"
    return FirstResponse(ctx.name, route, result.seconds, result.floor, result.ratio, operations, frozenset(statuses))


def report(harness: Harness, rounds: int) -> int:
    """Print one first-response row per API handler; returns the number of breaches."""
    print(
        f"\nFirst response: import + init + the first request against the local moto, interleaved with a minimal"
        f"\nPowertools handler making the same DynamoDB requests, median of {rounds} (budget <= {BUDGET}x)"
    )
    header = f"{'context':<10} {'first request':<32} {'DynamoDB requests':<34} {'ms':>7} {'floor':>7} {'ratio':>6}"
    print(f"  {header}  verdict")
    breaches = 0
    for ctx in harness.runtime.topology.contexts:
        if ctx.api_handler is None:
            continue
        result = measure_context(harness, ctx, rounds)
        if isinstance(result, str):
            print(f"  {ctx.name:<10} {'':<32} {'':<34} {'':>7} {'':>7} {'':>6}  !! {result}")
            breaches += 1
            continue
        requests = ", ".join(f"{name} {count}" for name, count in sorted(result.operations.items())) or "none"
        verdict = "; ".join(result.breaches) or "ok"
        breaches += bool(result.breaches)
        print(
            f"  {result.context:<10} {result.route:<32} {requests:<34} {result.seconds * 1000:7.1f}"
            f" {result.floor_seconds * 1000:7.1f} {result.ratio:6.2f}  {'!! ' if result.breaches else ''}{verdict}"
        )
    return breaches
