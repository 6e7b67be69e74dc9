"""The authorizer: who may call, for which tenant, with which role - and the 401s and 403s.

Every case goes through the real handler with a REQUEST event shaped like AWS's sample; tokens are
minted by a local IdP whose JWKS PyJWKClient fetches over HTTP.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.identity.gateway import Gateway, authorize, user_id
from tests.unit.identity.idp import LocalIdp, hs256_with_public_key, unsigned_token


def bearer(token: str, tenant: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if tenant:
        headers["X-Tenant-Id"] = tenant
    return headers


def assert_unauthorized(headers: dict[str, str]) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(headers)


def effect(answer: dict) -> str:
    return str(answer["policyDocument"]["Statement"][0]["Effect"])


# -- JWTs that must be refused (401) ----------------------------------------------------------------


def test_an_expired_token_is_unauthorized(gateway: Gateway, idp: LocalIdp) -> None:
    # Given a token that expired two minutes ago (beyond the 60 s leeway)
    now = int(time.time())
    token = idp.id_token("ada", "ada@example.com", iat=now - 3600, exp=now - 120)
    # Then it is refused with API Gateway's 401
    assert_unauthorized(bearer(token))


def test_a_token_expired_within_the_60_second_skew_is_still_accepted(gateway: Gateway, idp: LocalIdp) -> None:
    now = int(time.time())
    token = idp.id_token("ada", "ada@example.com", iat=now - 3600, exp=now - 30)
    assert effect(authorize(bearer(token))) == "Allow"


def test_a_token_for_another_audience_is_unauthorized(gateway: Gateway, idp: LocalIdp) -> None:
    assert_unauthorized(bearer(idp.id_token("ada", "ada@example.com", aud="someone-elses-app")))


def test_an_access_token_for_another_client_is_unauthorized(gateway: Gateway, idp: LocalIdp) -> None:
    assert_unauthorized(bearer(idp.access_token("ada", client_id="someone-elses-app")))


def test_a_token_from_another_issuer_is_unauthorized(gateway: Gateway, idp: LocalIdp) -> None:
    assert_unauthorized(bearer(idp.id_token("ada", "ada@example.com", iss="https://evil.example/pool")))


def test_a_token_with_a_bad_signature_is_unauthorized(gateway: Gateway, idp: LocalIdp) -> None:
    # Given a token signed by a key the issuer never published, under the issuer's key id
    forged = idp.sign(idp.claims("ada", "ada@example.com"), key="attacker")
    assert_unauthorized(bearer(forged))


def test_a_token_whose_payload_was_altered_is_unauthorized(gateway: Gateway, idp: LocalIdp) -> None:
    header, _, signature = idp.id_token("ada", "ada@example.com").split(".")
    other_payload = idp.id_token("eve", "eve@example.com").split(".")[1]
    assert_unauthorized(bearer(f"{header}.{other_payload}.{signature}"))


def test_an_unsigned_alg_none_token_is_unauthorized(gateway: Gateway, idp: LocalIdp) -> None:
    assert_unauthorized(bearer(unsigned_token(idp.claims("ada", "ada@example.com"))))


def test_an_hs256_token_keyed_with_the_public_key_is_unauthorized(gateway: Gateway, idp: LocalIdp) -> None:
    assert_unauthorized(bearer(hs256_with_public_key(idp.claims("ada", "ada@example.com"))))


def test_a_token_naming_an_unknown_key_id_is_unauthorized(gateway: Gateway, idp: LocalIdp) -> None:
    forged = idp.sign(idp.claims("ada", "ada@example.com"), key="attacker", kid="not-a-published-key")
    assert_unauthorized(bearer(forged))


def test_a_token_not_yet_valid_is_unauthorized(gateway: Gateway, idp: LocalIdp) -> None:
    now = int(time.time())
    assert_unauthorized(bearer(idp.id_token("ada", "ada@example.com", nbf=now + 300)))
    assert_unauthorized(bearer(idp.id_token("ada", "ada@example.com", iat=now + 300)))


def test_a_token_of_another_use_is_unauthorized(gateway: Gateway, idp: LocalIdp) -> None:
    assert_unauthorized(bearer(idp.id_token("ada", "ada@example.com", token_use="refresh")))


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic YWRhOnB3", "Bearer not.a.jwt", "Bearer a b", "bearer " + "x" * 9000],
)
def test_a_missing_or_malformed_credential_is_unauthorized(gateway: Gateway, authorization: str | None) -> None:
    assert_unauthorized({"Authorization": authorization} if authorization is not None else {})


# -- JWTs that pass --------------------------------------------------------------------------------


def test_a_signed_in_user_without_a_tenant_is_allowed_as_themself_only(gateway: Gateway, idp: LocalIdp) -> None:
    # When a valid ID token comes without X-Tenant-Id
    expires = int(time.time()) + 3600
    answer = authorize(bearer(idp.id_token("ada", "Ada@Example.com", exp=expires)))
    # Then the whole stage is allowed (API Gateway reuses the cached answer) with no tenant in the context
    assert effect(answer) == "Allow"
    assert (
        answer["policyDocument"]["Statement"][0]["Resource"]
        == "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*/*"
    )
    assert answer["principalId"] == user_id("ada")
    assert answer["context"] == {
        "auth": "jwt",
        "user_id": user_id("ada"),
        "subject": "ada",
        "email": "ada@example.com",
        "valid_until": str(expires + 60),  # the token's expiry plus the clock skew
    }
    assert all(isinstance(v, str) for v in answer["context"].values())


def test_an_unverified_email_does_not_reach_the_context(gateway: Gateway, idp: LocalIdp) -> None:
    answer = authorize(bearer(idp.id_token("ada", "ada@example.com", email_verified=False)))
    assert "email" not in answer["context"]


def test_a_cognito_style_access_token_is_accepted_by_its_client_id(gateway: Gateway, idp: LocalIdp) -> None:
    answer = authorize(bearer(idp.access_token("ada")))
    assert effect(answer) == "Allow"
    assert answer["context"]["user_id"] == user_id("ada")


def test_a_member_gets_their_tenant_role_and_plan(gateway: Gateway, idp: LocalIdp) -> None:
    tenant = gateway.sign_up("ada")
    answer = authorize(bearer(gateway.token("ada"), tenant))
    assert effect(answer) == "Allow"
    context = dict(answer["context"])
    assert context.pop("valid_until")  # the token's expiry (test_token_expiry.py)
    assert context == {
        "auth": "jwt",
        "user_id": user_id("ada"),
        "subject": "ada",
        "email": "ada@example.com",
        "tenant_id": tenant,
        "role": "owner",
        "plan": "free",
    }


def test_a_non_member_naming_a_tenant_is_denied(gateway: Gateway, idp: LocalIdp) -> None:
    # Given Ada's tenant, and Eve who is not a member
    tenant = gateway.sign_up("ada")
    # When Eve names it in X-Tenant-Id
    answer = authorize(bearer(gateway.token("eve"), tenant))
    # Then the answer is an explicit Deny (API Gateway's 403), for the whole stage, whose context says
    # only what the 403 says: no tenant, role or plan, and not why
    assert effect(answer) == "Deny"
    assert answer["context"] == {"error_code": "forbidden", "error_message": "not authorized to access this resource"}
    assert answer["policyDocument"]["Statement"][0]["Resource"].endswith("/test/*/*")


@pytest.mark.parametrize("tenant", ["ten_01JD0000000000000000000000", "not-a-tenant", "TENANT#x", "ten_#1"])
def test_an_unknown_or_malformed_tenant_id_is_denied(gateway: Gateway, tenant: str) -> None:
    assert effect(authorize(bearer(gateway.token("ada"), tenant))) == "Deny"


# -- API keys ------------------------------------------------------------------------------------------


def create_key(gateway: Gateway, tenant: str, role: str = "admin") -> dict:
    reply = gateway.call("POST", "/v1/api-keys", as_="ada", tenant=tenant, body={"name": "ci", "role": role})
    assert reply.status == 201, reply
    return dict(reply.body)


def test_an_api_key_is_allowed_for_its_own_tenant(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada")
    key = create_key(gateway, tenant)
    for headers in (bearer(key["secret"]), bearer(key["secret"], tenant)):
        answer = authorize(headers)
        assert effect(answer) == "Allow"
        assert answer["context"] == {
            "auth": "api_key",
            "user_id": key["id"],
            "api_key_id": key["id"],
            "tenant_id": tenant,
            "role": "admin",
            "plan": "free",
        }


def test_an_api_key_of_tenant_a_with_x_tenant_id_of_tenant_b_is_denied(gateway: Gateway) -> None:
    # Given a key of tenant A, and tenant B
    tenant_a = gateway.sign_up("ada", "A")
    tenant_b = gateway.sign_up("bob", "B")
    key = create_key(gateway, tenant_a)
    # When it is sent naming tenant B
    answer = authorize(bearer(key["secret"], tenant_b))
    # Then it is denied (403), while tenant A still works (positive control)
    assert effect(answer) == "Deny"
    assert effect(authorize(bearer(key["secret"], tenant_a))) == "Allow"


def test_a_revoked_api_key_is_unauthorized(gateway: Gateway) -> None:
    # Given a key that worked
    tenant = gateway.sign_up("ada")
    key = create_key(gateway, tenant)
    assert effect(authorize(bearer(key["secret"]))) == "Allow"
    # When an admin revokes it
    assert gateway.call("DELETE", f"/v1/api-keys/{key['id']}", as_="ada", tenant=tenant).status == 204
    # Then an uncached authorization refuses it at once
    assert_unauthorized(bearer(key["secret"]))


def test_an_unknown_api_key_is_unauthorized(gateway: Gateway) -> None:
    assert_unauthorized(bearer("keel_" + "A" * 43))


def test_an_api_key_may_not_act_as_a_person(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada")
    key = create_key(gateway, tenant)
    reply = gateway.call("POST", "/v1/tenants", token=key["secret"], body={"name": "Shadow"})
    assert (reply.status, reply.code) == (403, "person_required")


# -- the JWKS -------------------------------------------------------------------------------------------


def test_the_jwks_is_fetched_once_per_container_not_per_request(gateway: Gateway, idp: LocalIdp) -> None:
    for subject in ("ada", "bob", "cy"):
        assert effect(authorize(bearer(idp.id_token(subject, f"{subject}@example.com")))) == "Allow"
    assert idp.jwks_fetches == 1


def test_junk_key_ids_do_not_make_the_authorizer_hammer_the_issuer(gateway: Gateway, idp: LocalIdp) -> None:
    assert effect(authorize(bearer(idp.id_token("ada", "ada@example.com")))) == "Allow"
    for n in range(5):
        assert_unauthorized(bearer(idp.sign(idp.claims("ada"), key="attacker", kid=f"junk-{n}")))
    # one initial fetch; unknown kids inside the cooldown trigger no refetch
    assert idp.jwks_fetches == 1


def test_on_a_tenantless_route_the_tenant_header_is_ignored(gateway: Gateway, idp: LocalIdp) -> None:
    # Given a signed-in user who is a member of no tenant, sending some tenant's id anyway (an SDK default)
    other = gateway.sign_up("ada")
    headers = {"Authorization": f"Bearer {gateway.token('zed')}", "X-Tenant-Id": other}
    # When a tenant-less route is authorized (its answer is cached under the token alone)
    answer = authorize(headers, "POST", "/v1/invitations/accept")
    # Then it is an Allow for the user, with no tenant in it, not a Deny that would stick for 300 s
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert "tenant_id" not in answer["context"]
    # While on a tenant route the same header is judged, and denied
    assert authorize(headers, "GET", "/v1/tenant")["policyDocument"]["Statement"][0]["Effect"] == "Deny"


# -- operators and suspended tenants -------------------------------------------------------------------


def test_a_jwt_in_the_operators_group_is_marked_operator_on_token_only_routes_only(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ops")
    token = gateway.token("ops", operator=True)
    # On an operator route and on a tenant-less one (both cached on the token alone): an operator
    for path in ("/v1/admin/tenants", "/v1/me"):
        assert authorize(bearer(token), "GET", path)["context"]["operator"] == "true"
    # In a tenant (their own): only a member, whatever their groups say
    assert "operator" not in authorize(bearer(token, tenant), "GET", "/v1/tenant")["context"]
    # Someone in no group is no operator
    assert "operator" not in authorize(bearer(gateway.token("ada")), "GET", "/v1/admin/tenants")["context"]


def test_an_api_key_is_never_an_operator(gateway: Gateway) -> None:
    tenant = gateway.sign_up("ada")
    key = create_key(gateway, tenant)

    answer = authorize(bearer(key["secret"]), "GET", "/v1/admin/tenants")

    assert "operator" not in answer["context"]


def test_a_suspended_tenant_is_denied_to_its_members_and_keys_with_its_code(gateway: Gateway) -> None:
    # Given Ada's tenant with a key, suspended by an operator
    tenant = gateway.sign_up("ada")
    key = create_key(gateway, tenant)
    reply = gateway.call(
        "POST", f"/v1/admin/tenants/{tenant}/suspend", as_="ops", operator=True, body={"reason": "abuse"}
    )
    assert reply.status == 200
    suspended = {"error_code": "tenant_suspended", "error_message": "this tenant is suspended"}
    # Then Ada and the key are denied, and the Deny names the suspension
    for headers in (bearer(gateway.token("ada"), tenant), bearer(key["secret"]), bearer(key["secret"], tenant)):
        answer = authorize(headers)
        assert effect(answer) == "Deny"
        assert answer["context"] == suspended
    # And Eve, no member, is denied as for any tenant she is not in
    assert authorize(bearer(gateway.token("eve"), tenant))["context"]["error_code"] == "forbidden"
