"""Identity's services on in-memory fakes of their ports: what each use case decides, writes and publishes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from functions.identity.adapters.invitation_links import SignedInvitationLinks
from functions.identity.domain.api_key import MAX_ACTIVE_API_KEYS, hash_secret
from functions.identity.domain.api_keys import ApiKeyService
from functions.identity.domain.entitlements import EntitlementsService
from functions.identity.domain.errors import (
    AccessChanged,
    ApiKeyLimitReached,
    ApiKeyNotFound,
    InvitationExpired,
    InvitationForSomeoneElse,
    InvitationNotFound,
    MemberNotFound,
    OwnerRequired,
    SlugReserved,
    TenantLimitReached,
    TenantNotFound,
    TooManyPendingInvitations,
    VerifiedEmailRequired,
)
from functions.identity.domain.invitation_status import InvitationStatus
from functions.identity.domain.invitations import InvitationService
from functions.identity.domain.members import MemberService
from functions.identity.domain.membership import MAX_PENDING_SENT
from functions.identity.domain.slugs import RESERVED_SLUGS
from functions.identity.domain.tenant import Seats
from functions.identity.domain.tenants import TenantService
from functions.identity.domain.user import Person, user_id_for
from keel.clock import FixedClock
from keel.contracts.billing import EntitlementsChanged
from keel.contracts.identity import UserInvited, invitation_token
from keel.tenancy import Role, TenantContext
from tests.unit.identity.fakes import (
    FakeApiKeys,
    FakeAuthorizerCache,
    FakeEntitlementsCopy,
    FakeExpiry,
    FakeInvitations,
    FakeMembers,
    FakeTenants,
    FakeUsagePlans,
    Identity,
)

ISSUER = "https://idp.example"
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
TEMPLATE = "https://app.example/accept?token={token}"
KEY = "unit-test-invitation-key-" + "k" * 32


def person(subject: str, email: str | None = None) -> Person:
    return Person(user_id=user_id_for(ISSUER, subject), email=email or f"{subject}@example.com", subject=subject)


@pytest.fixture
def state() -> Identity:
    return Identity()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def tenants(state: Identity, clock: FixedClock) -> TenantService:
    return TenantService(FakeTenants(state), FakeMembers(state), issuer=ISSUER, clock=clock)


@pytest.fixture
def invitations(state: Identity, clock: FixedClock) -> InvitationService:
    links = SignedInvitationLinks(lambda: KEY)
    return InvitationService(
        FakeInvitations(state), FakeTenants(state), FakeExpiry(state), links, issuer=ISSUER,
        accept_url_template=TEMPLATE, clock=clock,
    )  # fmt: skip


@pytest.fixture
def acme(tenants: TenantService) -> TenantContext:
    """Ada's tenant, Ada acting as its owner."""
    tenant, _ = tenants.create(person("ada"), "Acme")
    return TenantContext(tenant_id=tenant.id, user_id=person("ada").user_id, role=Role.OWNER, plan="free")


def token_of(state: Identity, invitation_id: str) -> str:
    """The token of the invitation's link, as the mailer derives it from the event and the key."""
    [invited] = [
        e for e in state.published if e.type == UserInvited.TYPE and e.payload["invitation_id"] == invitation_id
    ]
    assert invited.payload["accept_url_template"] == TEMPLATE
    return invitation_token(KEY.encode(), tenant_id=invited.tenant_id, invitation_id=invitation_id)


# -- tenants --------------------------------------------------------------------------------------


def test_a_new_tenant_is_owned_by_its_creator_and_announced(tenants: TenantService, state: Identity) -> None:
    tenant, seats = tenants.create(person("ada"), "Acme Corp")
    assert (tenant.name, tenant.slug, seats.plan, seats.members, seats.owners) == (
        "Acme Corp",
        "acme-corp",
        "free",
        1,
        1,
    )
    assert state.members[(tenant.id, person("ada").user_id)].role is Role.OWNER
    assert state.types() == ["identity.tenant.created.v1", "identity.member.joined.v1"]


def test_a_taken_slug_is_retried_once_with_a_suffix(tenants: TenantService, state: Identity) -> None:
    tenants.create(person("ada"), "Acme")
    second, _ = tenants.create(person("bob"), "Acme")
    assert second.slug.startswith("acme-")
    assert state.writes == 2


def test_creating_a_tenant_needs_a_verified_email(tenants: TenantService, state: Identity) -> None:
    with pytest.raises(VerifiedEmailRequired):
        tenants.create(Person(user_id=person("ada").user_id), "Acme")
    assert state.writes == 0


def test_an_unchanged_tenant_is_not_written(tenants: TenantService, acme: TenantContext, state: Identity) -> None:
    writes = state.writes
    tenant, _ = tenants.update(acme, name="Acme", slug=None)
    assert (tenant.version, state.writes) == (1, writes)
    renamed, _ = tenants.update(acme, name="Acme Inc", slug=None)
    assert (renamed.name, renamed.version, state.writes) == ("Acme Inc", 2, writes + 1)
    assert state.actors == [acme]


def test_an_unknown_tenant_is_a_404(tenants: TenantService) -> None:
    ghost = TenantContext(tenant_id="ten_01JD0000000000000000000000", user_id="usr_1", role=Role.OWNER, plan="free")
    with pytest.raises(TenantNotFound):
        tenants.get(ghost)


def test_the_callers_memberships_come_a_page_at_a_time(tenants: TenantService) -> None:
    for name in ("A", "B", "C"):
        tenants.create(person("ada"), name)
    first = tenants.memberships(person("ada"), limit=2, cursor=None)
    rest = tenants.memberships(person("ada"), limit=2, cursor=first.cursor)
    assert (len(first.items), len(rest.items), rest.cursor) == (2, 1, None)


# -- members --------------------------------------------------------------------------------------


def test_a_role_change_is_written_and_announced_once(
    invitations: InvitationService, acme: TenantContext, state: Identity
) -> None:
    bob = person("bob")
    invitation = invitations.invite(acme, "bob@example.com", Role.MEMBER)
    invitations.accept(bob, token_of(state, invitation.id))
    members = MemberService(FakeMembers(state))
    changed = members.change_role(acme, bob.user_id, Role.ADMIN)
    again = members.change_role(acme, bob.user_id, Role.ADMIN)
    assert changed.role is again.role is Role.ADMIN
    assert state.types().count("identity.member.role_changed.v1") == 1


def test_an_admin_cannot_demote_an_owner(acme: TenantContext, state: Identity) -> None:
    members = MemberService(FakeMembers(state))
    admin = TenantContext(tenant_id=acme.tenant_id, user_id=person("bob").user_id, role=Role.ADMIN, plan="free")
    with pytest.raises(OwnerRequired):
        members.change_role(admin, person("ada").user_id, Role.MEMBER)


def test_leaving_and_being_removed_are_told_apart(
    invitations: InvitationService, acme: TenantContext, state: Identity
) -> None:
    for subject in ("bob", "cy"):
        invitation = invitations.invite(acme, f"{subject}@example.com", Role.MEMBER)
        invitations.accept(person(subject), token_of(state, invitation.id))
    members = MemberService(FakeMembers(state))
    bob = TenantContext(tenant_id=acme.tenant_id, user_id=person("bob").user_id, role=Role.MEMBER, plan="free")
    members.remove(bob, bob.user_id)
    members.remove(acme, person("cy").user_id)
    reasons = [e.payload["reason"] for e in state.published if e.type == "identity.member.removed.v1"]
    assert reasons == ["left", "removed"]
    assert state.seats[acme.tenant_id].members == 1


def test_a_malformed_member_id_is_a_404_without_a_read(acme: TenantContext, state: Identity) -> None:
    with pytest.raises(MemberNotFound):
        MemberService(FakeMembers(state)).remove(acme, "TENANT#x")


# -- invitations ----------------------------------------------------------------------------------


def test_an_invitation_is_announced_with_its_link_template_but_no_token(
    invitations: InvitationService, acme: TenantContext, state: Identity
) -> None:
    invitation = invitations.invite(acme, "Grace@Example.com", Role.ADMIN)
    token = token_of(state, invitation.id)
    assert (invitation.email, invitation.status) == ("grace@example.com", InvitationStatus.PENDING)
    assert token not in repr(state.invitations) + repr(state.published) + repr(state.members)


def test_a_token_made_with_another_key_or_tampered_with_opens_nothing(
    invitations: InvitationService, acme: TenantContext, state: Identity
) -> None:
    invitation = invitations.invite(acme, "grace@example.com", Role.MEMBER)
    forged = invitation_token(b"x" * 40, tenant_id=acme.tenant_id, invitation_id=invitation.id)
    tampered = token_of(state, invitation.id)[:-2] + "AA"
    for token in (forged, tampered, f"{acme.tenant_id}.{invitation.id}", "garbage"):
        with pytest.raises(InvitationNotFound):
            invitations.accept(person("grace"), token)


def test_only_the_invited_email_accepts(invitations: InvitationService, acme: TenantContext, state: Identity) -> None:
    invitation = invitations.invite(acme, "grace@example.com", Role.MEMBER)
    token = token_of(state, invitation.id)
    with pytest.raises(InvitationForSomeoneElse):
        invitations.accept(person("eve"), token)
    member = invitations.accept(person("grace"), token)
    assert (member.tenant_id, member.role, member.invitation_id) == (acme.tenant_id, Role.MEMBER, invitation.id)
    with pytest.raises(InvitationNotFound):
        invitations.accept(person("grace"), token)


def test_a_lapsed_invitation_lists_as_expired_and_cannot_be_accepted(
    invitations: InvitationService, acme: TenantContext, state: Identity, clock: FixedClock
) -> None:
    token = token_of(state, invitations.invite(acme, "grace@example.com", Role.MEMBER).id)
    clock.advance(timedelta(days=7))
    [listed] = invitations.list(acme, limit=10, cursor=None).items
    assert listed.status is InvitationStatus.EXPIRED
    with pytest.raises(InvitationExpired):
        invitations.accept(person("grace"), token)


def test_revoking_twice_writes_once(invitations: InvitationService, acme: TenantContext, state: Identity) -> None:
    invitation = invitations.invite(acme, "grace@example.com", Role.MEMBER)
    writes = state.writes
    invitations.revoke(acme, invitation.id)
    invitations.revoke(acme, invitation.id)
    assert state.writes == writes + 1
    assert state.seats[acme.tenant_id].pending == 0


def test_the_sweep_expires_the_lapsed_and_resumes_where_it_stopped(
    invitations: InvitationService, acme: TenantContext, state: Identity, clock: FixedClock
) -> None:
    invitations.invite(acme, "old@example.com", Role.MEMBER)
    clock.advance(timedelta(days=7, hours=2))
    invitations.invite(acme, "fresh@example.com", Role.MEMBER)
    assert invitations.expire_lapsed() == 1
    assert invitations.expire_lapsed() == 0
    assert state.seats[acme.tenant_id].pending == 1


# -- API keys -------------------------------------------------------------------------------------


def test_a_key_is_refused_once_the_tenant_holds_the_most_it_may(acme: TenantContext, state: Identity) -> None:
    keys = ApiKeyService(FakeApiKeys(state), FakeTenants(state))
    for n in range(MAX_ACTIVE_API_KEYS):
        keys.create(acme, f"k{n}", Role.MEMBER)
    with pytest.raises(ApiKeyLimitReached):
        keys.create(acme, "one too many", Role.MEMBER)
    first = keys.list(acme, limit=1, cursor=None).items[0]
    keys.revoke(acme, first.id)
    key, secret = keys.create(acme, "room again", Role.ADMIN)
    assert key.secret_hash == hash_secret(secret)


def test_revoking_a_key_twice_publishes_once(acme: TenantContext, state: Identity) -> None:
    keys = ApiKeyService(FakeApiKeys(state), FakeTenants(state))
    key, _ = keys.create(acme, "ci", Role.MEMBER)
    keys.revoke(acme, key.id)
    keys.revoke(acme, key.id)
    assert state.types().count("identity.api_key.revoked.v1") == 1
    with pytest.raises(ApiKeyNotFound):
        keys.revoke(acme, "key_nope")


# -- entitlements ---------------------------------------------------------------------------------


def entitlements(tenant_id: str, at: datetime) -> EntitlementsChanged:
    return EntitlementsChanged(tenant_id=tenant_id, plan="pro", seat_limit=10, project_limit=5, effective_at=at)


def test_entitlements_replace_the_copy_and_reach_active_keys_only(acme: TenantContext, state: Identity) -> None:
    keys = ApiKeyService(FakeApiKeys(state), FakeTenants(state))
    kept, _ = keys.create(acme, "kept", Role.MEMBER)
    gone, _ = keys.create(acme, "gone", Role.MEMBER)
    keys.revoke(acme, gone.id)
    copy = FakeEntitlementsCopy(state)
    assert (
        EntitlementsService(copy, FakeUsagePlans(), FakeAuthorizerCache()).apply(
            acme.tenant_id, entitlements(acme.tenant_id, NOW)
        )
        is True
    )
    [change] = copy.replaced
    assert (change["plan"], change["seat_limit"], change["api_key_hashes"]) == ("pro", 10, [kept.secret_hash])


def test_a_new_plan_gets_the_tenant_a_key_of_the_rate_tier_billing_names(acme: TenantContext, state: Identity) -> None:
    # Given Acme on the free plan
    usage, copy = FakeUsagePlans(), FakeEntitlementsCopy(state)
    # When billing moves it to its "team" plan, whose rate tier is "business"
    changed = EntitlementsChanged(
        tenant_id=acme.tenant_id, plan="team", seat_limit=10, project_limit=5, effective_at=NOW, rate_tier="business"
    )
    EntitlementsService(copy, usage, FakeAuthorizerCache()).apply(acme.tenant_id, changed)
    # Then Acme has a key in the business tier's usage plan, recorded as its usage tier
    assert usage.provided == [(acme.tenant_id, "business")]
    [change] = copy.replaced
    assert (change["rate_tier"], change["usage_tier"]) == ("business", "business")


def test_a_rate_tier_unknown_here_is_the_default_tier(acme: TenantContext, state: Identity) -> None:
    # Given entitlements naming a rate tier no usage plan has (a tier added to billing's catalog first)
    usage = FakeUsagePlans()
    changed = EntitlementsChanged(
        tenant_id=acme.tenant_id, plan="pro", seat_limit=10, project_limit=5, effective_at=NOW, rate_tier="galactic"
    )
    EntitlementsService(FakeEntitlementsCopy(state), usage, FakeAuthorizerCache()).apply(acme.tenant_id, changed)
    # Then the tenant's key is of the default tier, which has a plan
    assert usage.provided == [(acme.tenant_id, "free")]


def test_without_usage_plans_a_new_plan_keeps_the_key_the_tenant_has(acme: TenantContext, state: Identity) -> None:
    # Given Acme's own key of the free tier, and no usage plans reachable (the API stack not yet deployed)
    state.seats[acme.tenant_id] = replace(state.seats[acme.tenant_id], usage_tier="free")
    copy = FakeEntitlementsCopy(state)
    # When billing moves it to "pro"
    EntitlementsService(copy, FakeUsagePlans(configured=False), FakeAuthorizerCache()).apply(
        acme.tenant_id, entitlements(acme.tenant_id, NOW)
    )
    # Then the plan and tier change, but the key it counts against stays the one that exists
    [change] = copy.replaced
    assert (change["plan"], change["rate_tier"], change["usage_tier"]) == ("pro", "pro", "free")


def test_sign_up_makes_no_key_its_first_plan_does(state: Identity) -> None:
    # Given the tenant service
    tenants = TenantService(FakeTenants(state), FakeMembers(state), issuer=ISSUER)
    # When Ada signs up
    tenant, seats = tenants.create(person("ada"), "Acme")
    # Then her tenant has no key of its own yet (the shared key counts it): sign-up calls no control plane
    assert state.seats[tenant.id].usage_tier is seats.usage_tier is None
    # When billing announces its free plan
    usage, copy = FakeUsagePlans(), FakeEntitlementsCopy(state)
    free = EntitlementsChanged(
        tenant_id=tenant.id, plan="free", seat_limit=3, project_limit=1, effective_at=NOW, rate_tier="free"
    )
    EntitlementsService(copy, usage, FakeAuthorizerCache()).apply(tenant.id, free)
    # Then its key of the free tier is made and recorded
    assert usage.provided == [(tenant.id, "free")]
    assert copy.replaced[0]["usage_tier"] == "free"


def test_entitlements_of_the_tier_whose_key_the_tenant_has_make_no_call(acme: TenantContext, state: Identity) -> None:
    # Given Acme with its own key of the pro tier
    state.seats[acme.tenant_id] = replace(state.seats[acme.tenant_id], usage_tier="pro")
    usage, copy = FakeUsagePlans(), FakeEntitlementsCopy(state)
    # When billing announces new pro entitlements (more seats)
    EntitlementsService(copy, usage, FakeAuthorizerCache()).apply(acme.tenant_id, entitlements(acme.tenant_id, NOW))
    # Then API Gateway is not called, and the key stays recorded
    assert usage.provided == []
    assert copy.replaced[0]["usage_tier"] == "pro"


def test_entitlements_for_an_unknown_tenant_or_older_than_the_copy_are_ignored(
    acme: TenantContext, state: Identity
) -> None:
    state.seats[acme.tenant_id] = Seats(
        plan="team", seat_limit=5, members=1, pending=0, owners=1, entitlements_effective_at=NOW
    )
    copy = FakeEntitlementsCopy(state)
    usage = FakeUsagePlans()
    service = EntitlementsService(copy, usage, FakeAuthorizerCache())
    assert service.apply("ten_01JD0000000000000000000000", entitlements("ten_01JD0000000000000000000000", NOW)) is False
    assert service.apply(acme.tenant_id, entitlements(acme.tenant_id, NOW)) is False
    assert copy.replaced == []
    assert usage.provided == []


def with_features(tenant_id: str, at: datetime, **features: bool) -> EntitlementsChanged:
    return EntitlementsChanged(
        tenant_id=tenant_id, plan="pro", seat_limit=10, project_limit=5, features=features, effective_at=at
    )


def test_entitlements_copy_the_features_that_are_on(acme: TenantContext, state: Identity) -> None:
    copy = FakeEntitlementsCopy(state)
    EntitlementsService(copy, FakeUsagePlans(), FakeAuthorizerCache()).apply(
        acme.tenant_id, with_features(acme.tenant_id, NOW, project_export=True, sso=False)
    )
    assert copy.replaced[0]["features"] == frozenset({"project_export"})


def test_changed_features_flush_the_authorizer_cache_once_the_copy_is_written(
    acme: TenantContext, state: Identity
) -> None:
    # Given Acme's features known to the authorizer (no export)
    state.seats[acme.tenant_id] = replace(state.seats[acme.tenant_id], features=frozenset())
    copy, cache = FakeEntitlementsCopy(state), FakeAuthorizerCache()
    # When an operator's override turns project_export on
    EntitlementsService(copy, FakeUsagePlans(), cache).apply(
        acme.tenant_id, with_features(acme.tenant_id, NOW, project_export=True)
    )
    # Then nothing is flushed before the copy is written, and the cache is flushed once it is
    assert cache.flushes == 0
    copy.commit()
    assert cache.flushes == 1


@pytest.mark.parametrize(
    ("held", "why"),
    [(frozenset({"project_export"}), "the same features"), (None, "answers cached so far carry no features")],
)
def test_entitlements_that_leave_cached_answers_right_flush_nothing(
    acme: TenantContext, state: Identity, held: frozenset[str] | None, why: str
) -> None:
    state.seats[acme.tenant_id] = replace(state.seats[acme.tenant_id], features=held)
    copy, cache = FakeEntitlementsCopy(state), FakeAuthorizerCache()
    EntitlementsService(copy, FakeUsagePlans(), cache).apply(
        acme.tenant_id, with_features(acme.tenant_id, NOW, project_export=True)
    )
    copy.commit()
    assert cache.flushes == 0, why


def test_a_failed_flush_does_not_fail_the_written_copy(acme: TenantContext, state: Identity) -> None:
    # Given an API whose cache cannot be flushed
    class Unreachable(FakeAuthorizerCache):
        def flush(self) -> None:
            raise ConnectionError("API Gateway is unreachable")

    state.seats[acme.tenant_id] = replace(state.seats[acme.tenant_id], features=frozenset())
    copy = FakeEntitlementsCopy(state)
    EntitlementsService(copy, FakeUsagePlans(), Unreachable()).apply(
        acme.tenant_id, with_features(acme.tenant_id, NOW, project_export=True)
    )
    # Then the commit's follow-up does not raise (the event is applied; cached answers expire in the TTL)
    copy.commit()


# -- offboarding ----------------------------------------------------------------------------------


@pytest.fixture
def bob(invitations: InvitationService, acme: TenantContext, state: Identity) -> TenantContext:
    """Bob, an owner of Acme (on a plan without a seat limit)."""
    state.seats[acme.tenant_id] = replace(state.seats[acme.tenant_id], seat_limit=None)
    invitation = invitations.invite(acme, "bob@example.com", Role.OWNER)
    invitations.accept(person("bob"), token_of(state, invitation.id))
    return TenantContext(tenant_id=acme.tenant_id, user_id=person("bob").user_id, role=Role.OWNER, plan="free")


def test_a_persons_invitation_is_recorded_on_their_membership(
    invitations: InvitationService, bob: TenantContext, state: Identity
) -> None:
    invitation = invitations.invite(bob, "x@example.com", Role.ADMIN)
    assert [s.id for s in state.members[(bob.tenant_id, bob.user_id)].sent] == [invitation.id]


def test_removing_a_member_revokes_every_invitation_they_sent(
    invitations: InvitationService, acme: TenantContext, bob: TenantContext, state: Identity
) -> None:
    sent = invitations.invite(bob, "x@example.com", Role.MEMBER)
    MemberService(FakeMembers(state), clock=FixedClock(NOW)).remove(acme, bob.user_id)
    assert state.invitations[(acme.tenant_id, sent.id)].status is InvitationStatus.REVOKED
    [revoked] = [e.payload for e in state.published if e.type == "identity.invitation.revoked.v1"]
    assert (revoked["invitation_id"], revoked["reason"], revoked["revoked_by"]) == (
        sent.id,
        "sender_removed",
        acme.user_id,
    )


def test_demoting_revokes_only_the_invitations_above_the_new_role(
    invitations: InvitationService, acme: TenantContext, bob: TenantContext, state: Identity
) -> None:
    owner = invitations.invite(bob, "o@example.com", Role.OWNER)
    admin = invitations.invite(bob, "a@example.com", Role.ADMIN)
    demoted = MemberService(FakeMembers(state)).change_role(acme, bob.user_id, Role.ADMIN)
    assert [s.id for s in demoted.sent] == [admin.id]
    assert state.invitations[(acme.tenant_id, owner.id)].status is InvitationStatus.REVOKED
    assert state.invitations[(acme.tenant_id, admin.id)].status is InvitationStatus.PENDING


def test_a_member_with_the_most_pending_invitations_sends_no_more(
    invitations: InvitationService, acme: TenantContext, state: Identity
) -> None:
    state.seats[acme.tenant_id] = Seats(plan="big", seat_limit=None, members=1, pending=0, owners=1)
    for n in range(MAX_PENDING_SENT):
        invitations.invite(acme, f"p{n}@example.com", Role.MEMBER)
    with pytest.raises(TooManyPendingInvitations):
        invitations.invite(acme, "more@example.com", Role.MEMBER)


def test_an_inviter_whose_role_dropped_since_the_cached_answer_cannot_invite(
    invitations: InvitationService, acme: TenantContext, bob: TenantContext, state: Identity
) -> None:
    MemberService(FakeMembers(state)).change_role(acme, bob.user_id, Role.MEMBER)
    with pytest.raises(AccessChanged):
        invitations.invite(bob, "x@example.com", Role.OWNER)


# -- bounded self-service -------------------------------------------------------------------------


def test_a_person_creates_at_most_so_many_tenants_unless_an_operator_lifts_it(state: Identity) -> None:
    tenants = TenantService(FakeTenants(state), FakeMembers(state), issuer=ISSUER, tenants_per_user=2)
    tenants.create(person("ada"), "One")
    tenants.create(person("ada"), "Two")
    with pytest.raises(TenantLimitReached):
        tenants.create(person("ada"), "Three")
    tenants.create(person("bob"), "Bob's")
    state.lifted[person("ada").user_id] = 3
    tenants.create(person("ada"), "Three")
    assert state.created == {person("ada").user_id: 3, person("bob").user_id: 1}


def test_a_name_whose_slug_is_reserved_gets_a_suffix(tenants: TenantService) -> None:
    tenant, _ = tenants.create(person("ada"), "Admin")
    assert tenant.slug.startswith("admin-")
    assert tenant.slug not in RESERVED_SLUGS


def test_a_reserved_slug_is_refused(acme: TenantContext, state: Identity) -> None:
    tenants = TenantService(FakeTenants(state), FakeMembers(state), issuer=ISSUER)
    with pytest.raises(SlugReserved):
        tenants.update(acme, name=None, slug="billing")
    assert state.tenants[acme.tenant_id].slug == "acme"
