"""The authorizer's decision with fakes for the verifier and the store: what each credential costs
and what reaches the context."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from functions.identity.domain.access import AccessService, Allow, Deny, bearer_credential
from functions.identity.domain.api_key import ApiKeyGrant, hash_secret
from functions.identity.domain.errors import InvalidCredentials
from functions.identity.domain.ports import Claims, MemberGrant
from functions.identity.domain.usage import usage_key
from functions.identity.domain.user import user_id_for
from keel.tenancy import Role

ISSUER = "https://idp.example"
TENANT = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA"
OTHER = "ten_01JDBBBBBBBBBBBBBBBBBBBBBB"
SECRET = "keel_" + "s" * 43


class FakeVerifier:
    issuer = ISSUER

    def verify(self, token: str) -> Claims:
        if token != "good.jwt.token":
            raise InvalidCredentials("bad token")
        return Claims(subject="ada", email="ada@example.com", token_use="id")


@dataclass
class FakeStore:
    members: dict[tuple[str, str], MemberGrant] = field(default_factory=dict)
    keys: dict[str, ApiKeyGrant] = field(default_factory=dict)
    reads: int = 0

    def member_grant(self, tenant_id: str, user_id: str) -> MemberGrant | None:
        self.reads += 1
        return self.members.get((tenant_id, user_id))

    def api_key_grant(self, secret_hash: str) -> ApiKeyGrant | None:
        self.reads += 1
        return self.keys.get(secret_hash)


@pytest.fixture
def store() -> FakeStore:
    ada = user_id_for(ISSUER, "ada")
    return FakeStore(
        members={(TENANT, ada): MemberGrant(role=Role.ADMIN, plan="pro", usage_tier="pro")},
        keys={
            hash_secret(SECRET): ApiKeyGrant(
                api_key_id="key_1", tenant_id=TENANT, role=Role.MEMBER, plan="pro", usage_tier="pro"
            )
        },
    )


SHARED_KEY = "keeltestsharedapiusagekey"


def decide(store: FakeStore, authorization: str | None, tenant: str | None = None) -> Allow | Deny:
    service = AccessService(verifier=FakeVerifier(), store=store, shared_usage_key=SHARED_KEY)
    return service.decide(authorization=authorization, tenant_id=tenant)


@pytest.mark.parametrize(
    ("header", "credential"),
    [("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER   abc  ", "abc"), (" Bearer abc", "abc")],
)
def test_a_bearer_credential_is_read_whatever_the_schemes_case(header: str, credential: str) -> None:
    assert bearer_credential(header) == credential


def test_a_jwt_without_a_tenant_costs_no_read(store: FakeStore) -> None:
    decision = decide(store, "Bearer good.jwt.token")
    assert isinstance(decision, Allow)
    assert decision.context == {
        "auth": "jwt",
        "user_id": user_id_for(ISSUER, "ada"),
        "subject": "ada",
        "email": "ada@example.com",
    }
    assert store.reads == 0


def test_a_member_costs_one_read_and_gets_role_and_plan(store: FakeStore) -> None:
    decision = decide(store, "Bearer good.jwt.token", TENANT)
    assert isinstance(decision, Allow)
    assert (decision.context["tenant_id"], decision.context["role"], decision.context["plan"]) == (
        TENANT,
        "admin",
        "pro",
    )
    assert store.reads == 1


@pytest.mark.parametrize("credential", ["good.jwt.token", SECRET])
def test_a_tenants_answer_carries_its_features_once_identity_knows_them(store: FakeStore, credential: str) -> None:
    # Given no features known yet: the answer says nothing of them (contexts read their own copies)
    unknown = decide(store, f"Bearer {credential}", TENANT)
    assert isinstance(unknown, Allow)
    assert "features" not in unknown.context
    # Given the tenant's features copied from its entitlements (none, then two)
    for features, spelled in ((frozenset(), ""), (frozenset({"sso", "project_export"}), "project_export,sso")):
        ada = user_id_for(ISSUER, "ada")
        store.members[(TENANT, ada)] = MemberGrant(role=Role.ADMIN, plan="pro", features=features)
        store.keys[hash_secret(SECRET)] = ApiKeyGrant(
            api_key_id="key_1", tenant_id=TENANT, role=Role.MEMBER, plan="pro", features=features
        )
        known = decide(store, f"Bearer {credential}", TENANT)
        # Then the answer carries them, sorted and comma-separated
        assert isinstance(known, Allow)
        assert known.context["features"] == spelled


def test_a_non_member_is_denied_not_unauthorized(store: FakeStore) -> None:
    assert isinstance(decide(store, "Bearer good.jwt.token", OTHER), Deny)


def test_a_malformed_tenant_id_is_denied_without_a_read(store: FakeStore) -> None:
    assert isinstance(decide(store, "Bearer good.jwt.token", "TENANT#ten_1"), Deny)
    assert store.reads == 0


def test_a_bad_token_is_unauthorized(store: FakeStore) -> None:
    with pytest.raises(InvalidCredentials):
        decide(store, "Bearer forged.jwt.token", TENANT)


def test_an_api_key_is_bound_to_its_tenant(store: FakeStore) -> None:
    own = decide(store, f"Bearer {SECRET}")
    named = decide(store, f"Bearer {SECRET}", TENANT)
    other = decide(store, f"Bearer {SECRET}", OTHER)
    assert isinstance(own, Allow)
    assert isinstance(named, Allow)
    assert own.context["tenant_id"] == TENANT
    assert own.context["auth"] == "api_key"
    assert isinstance(other, Deny)


def test_an_unknown_api_key_is_unauthorized(store: FakeStore) -> None:
    with pytest.raises(InvalidCredentials):
        decide(store, "Bearer keel_unknown")


def test_the_context_holds_strings_only(store: FakeStore) -> None:
    for decision in (decide(store, "Bearer good.jwt.token", TENANT), decide(store, f"Bearer {SECRET}")):
        assert isinstance(decision, Allow)
        assert all(isinstance(v, str) for v in decision.context.values())


def test_the_route_is_read_from_the_method_arn() -> None:
    from functions.identity.handlers.authorizer import route_of

    arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/v1/invitations/accept"
    assert route_of(arn) == "POST /v1/invitations/accept"
    assert route_of("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/") == "GET /"
    assert route_of("garbage") == ""


def test_a_member_and_a_key_of_one_tenant_name_its_usage_key_of_the_tier_recorded(store: FakeStore) -> None:
    # Given Ada, a member of a tenant whose own key is of the "pro" tier, and an API key of that tenant
    by_member = decide(store, "Bearer good.jwt.token", TENANT)
    by_key = decide(store, f"Bearer {SECRET}")
    # Then both are counted against the tenant's own key of the pro tier
    assert isinstance(by_member, Allow)
    assert isinstance(by_key, Allow)
    assert by_member.usage_key == by_key.usage_key == usage_key(TENANT, "pro")


def test_a_tenant_without_a_key_of_its_own_counts_against_the_shared_key(store: FakeStore) -> None:
    # Given a tenant identity has not (yet) given a key of its own: no usage tier on its grants
    ada = user_id_for(ISSUER, "ada")
    store.members[(TENANT, ada)] = MemberGrant(role=Role.ADMIN, plan="pro")
    store.keys[hash_secret(SECRET)] = ApiKeyGrant(api_key_id="key_1", tenant_id=TENANT, role=Role.MEMBER, plan="pro")
    # When its member and its API key are authorized
    by_member = decide(store, "Bearer good.jwt.token", TENANT)
    by_key = decide(store, f"Bearer {SECRET}")
    # Then both count against the stage's shared key (in the shared plan), not a key that does not exist
    assert isinstance(by_member, Allow)
    assert isinstance(by_key, Allow)
    assert by_member.usage_key == by_key.usage_key == SHARED_KEY


def test_tenants_and_tiers_have_keys_of_their_own() -> None:
    # Given two tenants and two tiers, then no two of their keys are the same, and each is long enough
    keys = {usage_key(t, tier) for t in (TENANT, OTHER) for tier in ("free", "pro")}
    assert len(keys) == 4
    assert all(len(k) >= 20 and k.isalnum() for k in keys)


def test_a_caller_in_no_tenant_names_no_usage_key(store: FakeStore) -> None:
    # Given a signed-in caller on a tenant-less route, then no tenant's budget is spent
    decision = decide(store, "Bearer good.jwt.token")
    assert isinstance(decision, Allow)
    assert decision.usage_key is None
