"""Reporting under moto: events delivered to its real consumers as SQS delivers them, and its real API
handler called as API Gateway calls it (with the authorizer's context a caller would have)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

import boto3

from functions.reporting.domain.facts import Fact
from functions.reporting.handlers import api, on_event, on_replay
from keel.events import Envelope, event_source, producer_of
from tests.support.events import api_event, authorizer_context, response_json
from tests.support.pipeline import FakeLambdaContext, eventbridge_message, sqs_event
from tests.support.staged import STAGED

CONTEXT = STAGED.context("reporting")
TABLE = CONTEXT.table_name
OPERATOR = {"user_id": "usr_operator", "principalId": "usr_operator", "operator": "true"}


def envelope_of(fact: Fact) -> dict[str, Any]:
    return Envelope(
        id=fact.event_id,
        type=fact.type,
        tenant_id=fact.tenant_id,
        aggregate_id=fact.tenant_id,
        occurred_at=fact.occurred_at,
        correlation_id=fact.correlation_id,
        payload=dict(fact.payload),
    ).model_dump(mode="json")


def message(fact: Fact, number: int) -> dict[str, Any]:
    body = eventbridge_message(envelope_of(fact), detail_type=fact.type, source=event_source(producer_of(fact.type)))
    return {"MessageId": f"m-{number}", "ReceiptHandle": f"r-{number}", "Body": body, "Attributes": {}, "MD5OfBody": ""}


def deliver(*facts: Fact, replayed: bool = False) -> dict[str, Any]:
    """Hand ``facts`` to the live consumer (or the rebuild's) in one SQS batch; its partial batch response."""
    consumer = on_replay if replayed else on_event
    result: dict[str, Any] = consumer.handler(
        sqs_event([message(f, n) for n, f in enumerate(facts)]), FakeLambdaContext()
    )
    return result


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    content_type: str


def get(
    path: str,
    *,
    query: dict[str, str] | None = None,
    tenant: str | None = "ten_a",
    role: str = "admin",
    operator: bool = False,
    accept: str | None = None,
) -> Reply:
    """``GET path`` as a tenant's member of ``role``, or as an operator."""
    authorizer = OPERATOR if operator else authorizer_context(tenant_id=tenant, role=role)
    headers = {"Accept": accept} if accept else {}
    response = api.handler(
        api_event("GET", path, query=query, headers=headers, authorizer=authorizer), FakeLambdaContext()
    )
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    multi = {k.lower(): v[0] for k, v in (response.get("multiValueHeaders") or {}).items() if v}
    content_type = str(headers.get("content-type") or multi.get("content-type") or "")
    body = response["body"] if content_type.startswith("text/csv") else response_json(response)
    return Reply(response["statusCode"], body, content_type)


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def items_of(version: int) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item of one model version, keyed without the version (a test-only Scan)."""
    prefix = f"V{version}#"
    out = {}
    for raw in boto3.client("dynamodb").scan(TableName=TABLE)["Items"]:
        pk = raw["pk"]["S"]
        if pk.startswith(prefix):
            rest = {k: v for k, v in raw.items() if k != "pk"}
            out[(pk[len(prefix) :], raw["sk"]["S"])] = json.loads(json.dumps(rest, sort_keys=True))
    return out
