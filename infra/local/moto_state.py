"""Reads of moto's in-process state that no AWS API offers, for the dev-only ``/_local`` pages.

The moto server runs in this process, so its backends are plain objects here. Everything that
touches moto internals (pinned ``moto==5.2.5``) stays in this one module.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from moto.server import ThreadedMotoServer

from infra.local.shapes import ACCOUNT_ID


def sent_emails(region: str) -> list[dict[str, Any]]:
    """What SES (v1 or v2) "sent", oldest first."""
    from moto.ses.models import ses_backends

    sent: list[dict[str, Any]] = []
    for message in ses_backends[ACCOUNT_ID][region].sent_messages:
        entry: dict[str, Any] = {
            "id": message.id,
            "source": message.source,
            "destinations": message.destinations,
        }
        if hasattr(message, "raw_data"):
            entry |= _raw_email(message.raw_data)
        elif hasattr(message, "template"):
            entry |= {"template": message.template, "template_data": message.template_data}
        else:
            entry |= {"subject": message.subject, "body": message.body}
        sent.append(entry)
    return sent


def _raw_email(raw: str | bytes) -> dict[str, Any]:
    parsed = (
        email.message_from_bytes(raw, policy=email.policy.default)
        if isinstance(raw, bytes)
        else email.message_from_string(raw, policy=email.policy.default)
    )
    is_modern = isinstance(parsed, email.message.EmailMessage)
    text = parsed.get_body(preferencelist=("plain", "html")) if is_modern else None
    html = parsed.get_body(preferencelist=("html",)) if is_modern else None
    return {
        "subject": str(parsed.get("Subject", "")),
        "to": str(parsed.get("To", "")),
        "body": text.get_content() if text is not None else "",
        "html": html.get_content() if html is not None else None,
        "headers": {name: str(value) for name, value in parsed.items() if name.lower() != "content-type"},
        "raw": raw if isinstance(raw, str) else raw.decode("utf-8", "replace"),
    }


def queue_messages(queue_name: str, region: str) -> list[dict[str, Any]]:
    """The messages in a queue, read without receiving them (so receive counts do not move)."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[ACCOUNT_ID][region].get_queue(queue_name)
    return [
        {
            "messageId": message.id,
            "body": message.body,
            "sentTimestamp": message.sent_timestamp,
            "receiveCount": message.approximate_receive_count,
        }
        for message in list(queue._messages)
    ]


def forget_shard_iterator(iterator: str, region: str) -> None:
    """moto keeps every shard iterator it hands out; a poller drops each one it has used."""
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    dynamodbstreams_backends[ACCOUNT_ID][region].shard_iterators.pop(iterator, None)


@contextmanager
def requests_observed(server: ThreadedMotoServer, observe: Callable[[Mapping[str, Any]], None]) -> Iterator[None]:
    """While active, ``observe`` sees the WSGI environ of every request the moto server receives
    (``make bench`` counts the DynamoDB requests of handlers running in other processes)."""
    wsgi = server._server
    assert wsgi is not None, "the moto server is not started"
    app = wsgi.app

    def observing(environ: dict[str, Any], start_response: Any) -> Any:
        observe(environ)
        return app(environ, start_response)

    wsgi.app = observing
    try:
        yield
    finally:
        wsgi.app = app
