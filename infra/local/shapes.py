"""The events AWS hands to Lambda, built locally with the keys and nesting of AWS's own samples.

Each builder mirrors one of AWS's published samples, kept in ``events/samples/aws/``: the REST API
proxy event, the REQUEST authorizer event, an SQS record, a DynamoDB stream record and an
EventBridge scheduled event.
Handlers must not be able to tell these from AWS's, so the tests compare keys with those files.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from keel import trace_context
from keel.observability import TRACE_HEADER
from keel.trace_context import TraceContext

ACCOUNT_ID = "123456789012"
#: The local REST API's id and stage, as they appear in ``methodArn`` and ``requestContext``. The
#: stage is ``$default`` because local URLs carry no stage prefix (the platform's docs read it so).
API_ID = "local"
STAGE = "$default"

#: The keys (and order) EventBridge gives an event delivered to an SQS target or a Lambda.
_EVENTBRIDGE_KEYS = (
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
)


def method_arn(region: str, method: str, path: str) -> str:
    """``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD><path>`` as API Gateway builds it."""
    return f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{API_ID}/{STAGE}/{method}{path}"


def _request_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _single_and_multi(
    pairs: Sequence[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    # API Gateway: the single-value map keeps the last value of a repeated name.
    if not pairs:
        return None, None
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def traced_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The request's headers as API Gateway with tracing on hands them on: ``X-Amzn-Trace-Id`` names
    the caller's trace when it sent a valid one, and a new trace otherwise."""
    sent = [value for name, value in headers if name.lower() == TRACE_HEADER.lower()]
    if sent and trace_context.from_xray(sent[-1]) is not None:
        return list(headers)
    kept = [(name, value) for name, value in headers if name.lower() != TRACE_HEADER.lower()]
    return [*kept, (TRACE_HEADER, TraceContext.new().xray_header)]


def encode_body(body: bytes | None) -> tuple[str | None, bool]:
    """The proxy event's ``body`` and ``isBase64Encoded``: text stays text, other bytes are base64."""
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def _identity(source_ip: str, user_agent: str | None) -> dict[str, Any]:
    return {
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": source_ip,
        "user": None,
        "userAgent": user_agent,
        "userArn": None,
        "clientCert": None,  # no mutual TLS locally
    }


def proxy_event(
    *,
    method: str,
    path: str,
    resource: str,
    path_parameters: dict[str, str] | None,
    headers: Sequence[tuple[str, str]],
    query: Sequence[tuple[str, str]],
    body: bytes | None,
    source_ip: str,
    domain_name: str,
    request_id: str,
    epoch_ms: int,
) -> dict[str, Any]:
    """A REST API (v1) Lambda proxy event (``apiGatewayProxyEvent.json``), without an authorizer yet."""
    single_headers, multi_headers = _single_and_multi(headers)
    single_query, multi_query = _single_and_multi(query)
    text, is_base64 = encode_body(body)
    user_agent = next((v for k, v in reversed(headers) if k.lower() == "user-agent"), None)
    return {
        "version": "1.0",
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or {},
        "multiValueHeaders": multi_headers or {},
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "authorizer": {"claims": None, "scopes": None},
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".", 1)[0].split(":", 1)[0],
            "extendedRequestId": request_id,
            "httpMethod": method,
            "identity": _identity(source_ip, user_agent),
            "path": path,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": _request_time(epoch_ms),
            "requestTimeEpoch": epoch_ms,
            "resourceId": None,
            "resourcePath": resource,
            "stage": STAGE,
        },
        "pathParameters": path_parameters,
        "stageVariables": None,
        "body": text,
        "isBase64Encoded": is_base64,
    }


def authorizer_request_event(
    proxy: Mapping[str, Any], *, method_arn: str, identity_values: Sequence[str]
) -> dict[str, Any]:
    """The REQUEST authorizer event (``apiGatewayAuthorizerRequestEvent.json``) for a proxy event."""
    ctx = proxy["requestContext"]
    seen = ctx["identity"]
    identity = {
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "cognitoAmr": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "apiKey": None,
        "sourceIp": seen["sourceIp"],
        "user": None,
        "userAgent": seen["userAgent"],
        "userArn": None,
        "clientCert": None,
    }
    identity_source = ",".join(identity_values)
    return {
        "version": "1.0",
        "type": "REQUEST",
        "methodArn": method_arn,
        "identitySource": identity_source,
        "authorizationToken": identity_source,
        "resource": proxy["resource"],
        "path": proxy["path"],
        "httpMethod": proxy["httpMethod"],
        "headers": proxy["headers"],
        "multiValueHeaders": proxy["multiValueHeaders"],
        "queryStringParameters": proxy["queryStringParameters"],
        "pathParameters": proxy["pathParameters"],
        "stageVariables": proxy["stageVariables"],
        "requestContext": {key: ctx[key] for key in ctx if key != "authorizer"} | {"identity": identity},
    }


def eventbridge_event_json(body: str) -> str:
    """An EventBridge event as a rule's SQS target receives it: AWS's keys, in AWS's order.

    moto drops ``account`` and (on replays) adds its own ``ingestion-time``; bodies that are not
    EventBridge events pass through untouched.
    """
    try:
        event = json.loads(body)
    except ValueError:
        return body
    if not isinstance(event, dict) or "detail-type" not in event or "source" not in event:
        return body
    shaped: dict[str, Any] = {key: event.get(key) for key in _EVENTBRIDGE_KEYS}
    shaped["account"] = event.get("account") or ACCOUNT_ID
    shaped["resources"] = event.get("resources") or []
    if "replay-name" in event:
        shaped["replay-name"] = event["replay-name"]
    return json.dumps(shaped)


def _lambda_message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {}
    for name, attribute in attributes.items():
        value: dict[str, Any] = {}
        if "StringValue" in attribute:
            value["stringValue"] = attribute["StringValue"]
        if "BinaryValue" in attribute:
            value["binaryValue"] = base64.b64encode(attribute["BinaryValue"]).decode("ascii")
        value["dataType"] = attribute["DataType"]
        shaped[name] = value
    return shaped


def sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of an SQS batch (``sqsEvent.json``) from a ``ReceiveMessage`` message."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": eventbridge_event_json(message["Body"]),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": _lambda_message_attributes(message.get("MessageAttributes") or {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _attribute_value_json(value: Mapping[str, Any]) -> dict[str, Any]:
    # boto3 hands binary attributes back as bytes; Lambda's JSON event carries them as base64.
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(item).decode("ascii") for item in inner]}
    if kind == "M":
        return {"M": {key: _attribute_value_json(item) for key, item in inner.items()}}
    if kind == "L":
        return {"L": [_attribute_value_json(item) for item in inner]}
    return {kind: inner}


def _image_json(image: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _attribute_value_json(value) for name, value in image.items()}


def stream_record(record: Mapping[str, Any], *, stream_arn: str) -> dict[str, Any]:
    """One record of a DynamoDB stream batch (``dynamoStreamEvent.json``) from ``GetRecords``."""
    change = record["dynamodb"]
    created = change.get("ApproximateCreationDateTime")
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": created.timestamp() if isinstance(created, datetime) else created,
        "Keys": _image_json(change.get("Keys") or {}),
    }
    for image in ("NewImage", "OldImage"):
        if image in change:
            dynamodb[image] = _image_json(change[image])
    dynamodb |= {
        "StreamViewType": change.get("StreamViewType"),
        "SequenceNumber": change["SequenceNumber"],
        "SizeBytes": change.get("SizeBytes", 0),
    }
    return {
        "eventID": record["eventID"],
        "eventVersion": record.get("eventVersion", "1.0"),
        "dynamodb": dynamodb,
        "awsRegion": record.get("awsRegion"),
        "eventName": record["eventName"],
        "eventSourceARN": stream_arn,
        "eventSource": "aws:dynamodb",
    }


def scheduled_event(*, rule_arn: str, region: str, at: datetime) -> dict[str, Any]:
    """What an EventBridge schedule sends its target (``eventBridgeEvent.json`` less ``replay-name``)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
