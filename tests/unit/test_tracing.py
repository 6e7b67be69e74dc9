"""Tracing is on only in Lambda: there the Tracer captures each handler with tenant and route
annotations (never its response); elsewhere no Tracer is made and the X-Ray SDK is never imported.
Each check runs in a fresh interpreter: the X-Ray SDK's recorder and Powertools' Tracer are process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

INVOKE_A_HANDLER = """
import json, sys
from keel import observability
from tests.support.pipeline import FakeLambdaContext

@observability.instrumented("probe", "job")
def job(event, context):
    observability.for_service("probe").logger.info("ran")

job({}, FakeLambdaContext())
import functions.identity.handlers.authorizer, functions.identity.handlers.api
tracer = observability.for_service("probe").tracer
print(json.dumps({"xray": "aws_xray_sdk" in sys.modules, "tracer": tracer is not None}))
"""

CAPTURE_AN_API_CALL = """
import json
from aws_xray_sdk.core import xray_recorder
from keel.http import KeelResolver
from keel.observability import instrumented
from keel.tenancy import Access
from tests.support.events import api_event, authorizer_context
from tests.support.pipeline import FakeLambdaContext

class Recorder:
    sent = []
    def send_entity(self, entity):
        self.sent.append(json.loads(entity.serialize()))
    def set_daemon_address(self, address):
        pass

app = KeelResolver(service="probe")

@app.get("/v1/secrets/<name>", access=Access.MEMBER)
def secret(name: str) -> dict:
    return {"secret": "s3cr3t-value"}

@instrumented("probe", "api")
def handler(event, context):
    return app.resolve(event, context)

xray_recorder.configure(emitter=Recorder())
tenant = "ten_01JDDDDDDDDDDDDDDDDDDDDDDD"
event = api_event("GET", "/v1/secrets/x", authorizer=authorizer_context(tenant_id=tenant, role="member"))
response = handler(event, FakeLambdaContext())
print(json.dumps({"status": response["statusCode"], "sent": Recorder.sent}))
"""

CONSUME_AN_EVENT = """
import json
from aws_xray_sdk.core import xray_recorder
from moto import mock_aws
from keel import trace_context
from keel.events import envelope
from tests.support import things
from tests.support.moto import create_context_table
from tests.support.pipeline import FakeLambdaContext, sqs_event

class Recorder:
    sent = []
    def send_entity(self, entity):
        self.sent.append(json.loads(entity.serialize()))
    def set_daemon_address(self, address):
        pass

xray_recorder.configure(emitter=Recorder())
with mock_aws():
    create_context_table(things.table())
    from keel import observability
    observability.set_trace(trace_context.from_traceparent("00-6759e9880d862e3fe1be46a994272793-1111111111111111-01"))
    event = envelope(things.ThingForwarded(thing_id="thg_1"), tenant_id="ten_1", aggregate_id="thg_1")
    body = json.dumps({"detail-type": event.type, "source": "keel.things", "detail": event.model_dump()})
    batch = sqs_event([{"MessageId": "m-1", "ReceiptHandle": "r", "Body": body, "MD5OfBody": ""}])
    result = things.witness_handler(batch, FakeLambdaContext())
print(json.dumps({"result": result, "sent": Recorder.sent}))
"""


def run(code: str, **env: str) -> str:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("POWERTOOLS_TRACE_DISABLED", "LAMBDA_TASK_ROOT", "_X_AMZN_TRACE_ID")
    }
    environment |= {
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "keel" / "python")]),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_outside_lambda_no_tracer_is_made_and_the_xray_sdk_is_never_imported() -> None:
    assert json.loads(run(INVOKE_A_HANDLER)) == {"xray": False, "tracer": False}


def test_in_lambda_with_tracing_disabled_the_xray_sdk_is_never_imported() -> None:
    outcome = run(INVOKE_A_HANDLER, LAMBDA_TASK_ROOT="/var/task", POWERTOOLS_TRACE_DISABLED="true")

    assert json.loads(outcome) == {"xray": False, "tracer": False}


def test_in_lambda_the_tracer_captures_the_handler_with_tenant_and_route_but_not_its_response() -> None:
    lambdas_trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    outcome = json.loads(run(CAPTURE_AN_API_CALL, LAMBDA_TASK_ROOT="/var/task", _X_AMZN_TRACE_ID=lambdas_trace))

    assert outcome["status"] == 200
    everything = json.dumps(outcome["sent"])
    [handler] = [entity for entity in outcome["sent"] if entity.get("name") == "## handler"]
    assert handler["annotations"]["tenant_id"] == "ten_01JDDDDDDDDDDDDDDDDDDDDDDD"
    assert handler["annotations"]["route"] == "GET /v1/secrets/{name}"
    assert handler["annotations"]["Service"] == "probe"
    assert handler["annotations"]["trace_id"] == "5759e988bd862e3fe1be46a994272793"
    assert "s3cr3t-value" not in everything


def test_in_lambda_a_consumer_handles_each_event_in_a_subsegment_naming_the_requests_trace() -> None:
    lambdas_trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    environment = {
        "LAMBDA_TASK_ROOT": "/var/task",
        "_X_AMZN_TRACE_ID": lambdas_trace,
        "KEEL_THINGS_TABLE": "keel-things",
        "KEEL_TENANT_ROLE_ARN": "",  # this probe's table is no context's: its consumer acts with its own role
    }

    outcome = json.loads(run(CONSUME_AN_EVENT, **environment))

    assert outcome["result"] == {"batchItemFailures": []}
    [event] = [entity for entity in outcome["sent"] if entity.get("name") == "## event things.thing.forwarded.v1"]
    assert event["annotations"]["trace_id"] == "6759e9880d862e3fe1be46a994272793"  # the request's, not Lambda's
    assert event["annotations"]["tenant_id"] == "ten_1"
