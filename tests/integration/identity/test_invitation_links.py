"""Invitation tokens are never stored: not in identity's table, its outbox, or the bus archive. The
link is derived at send time from the invitation's ids and the invitation key, and still accepts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.events.models import events_backends

from functions.identity.adapters.invitation_links import SignedInvitationLinks
from keel import outbox_relay, settings
from keel.contracts.identity import UserInvited, accept_url, invitation_of, invitation_token
from tests.integration.identity.gateway import Gateway, invitation_key
from tests.support.moto import all_items
from tests.support.pipeline import FakeLambdaContext, stream_event
from tests.support.staged import IDENTITY, STAGED

ARCHIVE = "keel-archive"


@pytest.fixture
def archived(identity: str) -> str:
    """The bus ``keel`` with its archive, as the foundation deploys them. Yields the identity stream."""
    events = boto3.client("events")
    bus = events.create_event_bus(Name=STAGED.bus_name)["EventBusArn"]
    events.create_archive(ArchiveName=ARCHIVE, EventSourceArn=bus, RetentionDays=30)
    return identity


def relay_to_the_bus(stream_arn: str) -> list[dict[str, Any]]:
    """Runs the outbox relay on identity's stream; returns every event the archive then holds."""
    assert outbox_relay.handler(stream_event(stream_arn), FakeLambdaContext()) == {"batchItemFailures": []}  # type: ignore[arg-type]
    archive = events_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].archives[ARCHIVE]
    return [json.loads(e) if isinstance(e, str) else dict(e) for e in archive.events]


def strings(value: Any) -> Iterator[str]:
    """Every string inside ``value``, and every token-shaped word inside those (JSON inside JSON too)."""
    if isinstance(value, dict):
        for inner in value.values():
            yield from strings(inner)
    elif isinstance(value, list | tuple | set):
        for inner in value:
            yield from strings(inner)
    elif isinstance(value, str):
        yield value
        yield from re.findall(r"[A-Za-z0-9_\-.]{20,}", value)


def test_no_usable_token_is_stored_or_archived_and_the_derived_link_accepts(gateway: Gateway, archived: str) -> None:
    # Given two invitations, their events relayed to the bus and archived
    tenant = gateway.sign_up("ada", "Acme")
    for email in ("grace@example.com", "hopper@example.com"):
        assert gateway.call("POST", "/v1/invitations", as_="ada", tenant=tenant, body={"email": email}).status == 201
    events = relay_to_the_bus(archived)
    invited = [e for e in events if e["detail-type"] == UserInvited.TYPE]
    assert len(invited) == 2
    # Then nothing in the table (outbox included) or the archive is a token that opens an invitation
    key = invitation_key()
    stored = [*all_items(IDENTITY.table_name), *events]
    assert [s for s in strings(stored) if invitation_of(key, s) is not None] == []
    for event in invited:
        detail = event["detail"]
        token = invitation_token(key, tenant_id=detail["tenant_id"], invitation_id=detail["payload"]["invitation_id"])
        assert token.rsplit(".", 1)[1] not in repr(stored)
    # And the mailer's link, made from an archived event and the key, accepts
    detail = next(e["detail"] for e in invited if e["detail"]["payload"]["email"] == "grace@example.com")
    link = accept_url(
        detail["payload"]["accept_url_template"], key, tenant_id=detail["tenant_id"],
        invitation_id=detail["payload"]["invitation_id"],
    )  # fmt: skip
    [token] = parse_qs(urlparse(link).query)["token"]
    reply = gateway.call("POST", "/v1/invitations/accept", as_="grace", body={"token": token})
    assert reply.status == 201
    assert reply.body["tenant_id"] == tenant


def test_a_forged_or_tampered_token_opens_nothing(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    invitation = gateway.call("POST", "/v1/invitations", as_="ada", tenant=tenant, body={"email": "g@example.com"})
    genuine = invitation_token(invitation_key(), tenant_id=tenant, invitation_id=invitation.body["id"])
    forged = invitation_token(b"not-the-key-" * 4, tenant_id=tenant, invitation_id=invitation.body["id"])
    for token in (forged, genuine[:-3] + "AAA", f"{tenant}.{invitation.body['id']}", "x" * 43):
        reply = gateway.call("POST", "/v1/invitations/accept", as_="g", body={"token": token})
        assert reply.status == 404, token
    assert gateway.call("POST", "/v1/invitations/accept", as_="g", body={"token": genuine}).status == 201


def test_in_the_cloud_the_key_is_read_from_secrets_manager(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the key in a Secrets Manager secret, as the identity stack generates it, and no plain key
    cloud_key = "generated-by-secrets-manager-" + "s" * 35
    arn = boto3.client("secretsmanager").create_secret(
        Name=IDENTITY.resource_name("invitation-key"), SecretString=cloud_key
    )["ARN"]
    monkeypatch.setenv("KEEL_IDENTITY_INVITATION_KEY_ARN", arn)
    monkeypatch.delenv("KEEL_IDENTITY_INVITATION_KEY")
    settings.reset()
    tenant = gateway.sign_up("ada", "Acme")
    invitation = gateway.call("POST", "/v1/invitations", as_="ada", tenant=tenant, body={"email": "g@example.com"})
    # Then a link made with that key accepts, and one made with another key does not
    signed = invitation_token(cloud_key.encode(), tenant_id=tenant, invitation_id=invitation.body["id"])
    other = invitation_token(b"k" * 40, tenant_id=tenant, invitation_id=invitation.body["id"])
    assert gateway.call("POST", "/v1/invitations/accept", as_="g", body={"token": other}).status == 404
    assert gateway.call("POST", "/v1/invitations/accept", as_="g", body={"token": signed}).status == 201


def test_a_key_too_short_to_sign_with_is_refused() -> None:
    with pytest.raises(RuntimeError, match="at least 32"):
        SignedInvitationLinks(lambda: "short").opened_by("ten_1.inv_1.mac")
