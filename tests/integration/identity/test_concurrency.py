"""Two accepts racing for the last seat: exactly one wins, through the conditional write.

The interleaving is made deterministic at the DynamoDB client: both accepts read and pass every
domain check, then wait for each other at a barrier just before their TransactWriteItems, which then
run one after the other. So neither saw the other's write, and only the condition on the seat
counter (``members < seat_limit``) can stop the second.
"""

from __future__ import annotations

from datetime import UTC, datetime

from functions.identity.adapters.expiry import ExpiryRepository
from functions.identity.adapters.invitation_links import SignedInvitationLinks
from functions.identity.adapters.invitations import InvitationRepository
from functions.identity.adapters.tenants import TenantRepository
from functions.identity.domain.errors import InvitationNotPending, SeatLimitReached
from functions.identity.domain.invitations import InvitationService
from functions.identity.domain.user import Person
from functions.identity.handlers import on_entitlements_changed
from keel.contracts.billing import EntitlementsChanged
from keel.events import envelope
from tests.integration.identity.conftest import INVITATION_KEY
from tests.integration.identity.gateway import Gateway, user_id
from tests.support.pipeline import FakeLambdaContext, eventbridge_message
from tests.support.racing import RacingClient, race
from tests.support.staged import IDENTITY
from tests.unit.identity.idp import ISSUER


def racing_invitations(racers: int) -> InvitationService:
    """The invitation service, its writes racing at a barrier."""
    client = RacingClient(racers)
    table = IDENTITY.table_name
    return InvitationService(
        InvitationRepository(table, client=lambda: client),  # type: ignore[arg-type,return-value]
        TenantRepository(table),
        ExpiryRepository(table),
        SignedInvitationLinks(lambda: INVITATION_KEY),
        issuer=ISSUER,
        accept_url_template="{token}",
    )


def lower_seat_limit(tenant: str, seats: int) -> None:
    """Billing downgrades the tenant (delivered through identity's real consumer)."""
    changed = EntitlementsChanged(
        tenant_id=tenant, plan="tiny", seat_limit=seats, project_limit=1, effective_at=datetime.now(UTC)
    )
    detail = envelope(changed, tenant_id=tenant, aggregate_id=tenant).model_dump(mode="json")
    body = eventbridge_message(detail, detail_type=changed.TYPE, source="keel.billing")
    record = {"messageId": "m-1", "receiptHandle": "r", "body": body, "attributes": {}, "messageAttributes": {}}
    record |= {
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
        "awsRegion": "us-east-1",
    }
    result = on_entitlements_changed.handler({"Records": [record]}, FakeLambdaContext())  # type: ignore[arg-type]
    assert result == {"batchItemFailures": []}


def person(subject: str) -> Person:
    return Person(user_id=user_id(subject), email=f"{subject}@example.com", subject=subject)


def test_two_accepts_for_the_last_seat_one_wins(gateway: Gateway) -> None:
    # Given Ada's tenant with two pending invitations, then a downgrade to 2 seats: one seat left
    tenant = gateway.sign_up("ada", "Acme")
    bob_token = gateway.invite(tenant, "ada", "bob@example.com")
    cy_token = gateway.invite(tenant, "ada", "cy@example.com")
    lower_seat_limit(tenant, seats=2)
    service = racing_invitations(racers=2)
    # When Bob and Cy accept at the same moment
    results = race(
        lambda: service.accept(person("bob"), bob_token),
        lambda: service.accept(person("cy"), cy_token),
    )
    # Then exactly one joined, and the other was refused because the seat was gone
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    assert isinstance(losers[0], SeatLimitReached), results
    tenant_view = gateway.call("GET", "/v1/tenant", as_="ada", tenant=tenant).body
    assert (tenant_view["members"], tenant_view["seat_limit"]) == (2, 2)
    members = {m["user_id"] for m in gateway.call("GET", "/v1/members", as_="ada", tenant=tenant).body["items"]}
    assert members == {user_id("ada"), winners[0].user_id}


def test_the_same_invitation_accepted_twice_at_once_joins_once(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada", "Acme")
    token = gateway.invite(tenant, "ada", "bob@example.com")
    service = racing_invitations(racers=2)
    results = race(
        lambda: service.accept(person("bob"), token),
        lambda: service.accept(person("bob"), token),
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert any(isinstance(r, InvitationNotPending) for r in results), results
    tenant_view = gateway.call("GET", "/v1/tenant", as_="ada", tenant=tenant).body
    assert (tenant_view["members"], tenant_view["pending_invitations"]) == (2, 0)


def test_without_the_race_both_accepts_fit_when_seats_allow(gateway: Gateway) -> None:
    # Positive control: the same two accepts, racing, with the free plan's 3 seats
    tenant = gateway.sign_up("ada", "Acme")
    bob_token = gateway.invite(tenant, "ada", "bob@example.com")
    cy_token = gateway.invite(tenant, "ada", "cy@example.com")
    service = racing_invitations(racers=2)
    results = race(
        lambda: service.accept(person("bob"), bob_token),
        lambda: service.accept(person("cy"), cy_token),
    )
    assert not any(isinstance(r, Exception) for r in results), results
