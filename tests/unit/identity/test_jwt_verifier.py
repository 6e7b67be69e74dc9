"""The JWT verifier against a JWKS served over HTTP: what passes and what does not."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from functions.identity.adapters.jwt_verifier import JwtVerifier
from functions.identity.domain.errors import IdentityProviderUnavailable, InvalidCredentials
from tests.unit.identity.idp import AUDIENCE, ISSUER, LocalIdp, public_jwk, rsa_key, running_idp


@pytest.fixture
def idp() -> Iterator[LocalIdp]:
    with running_idp() as running:
        yield running


def verifier(idp: LocalIdp, *, token_uses: tuple[str, ...] = ("id", "access")) -> JwtVerifier:
    return JwtVerifier(issuer=ISSUER, audiences=[AUDIENCE], jwks_url=idp.jwks_url, token_uses=token_uses)


def test_a_valid_id_token_yields_its_subject_and_verified_email(idp: LocalIdp) -> None:
    claims = verifier(idp).verify(idp.id_token("ada", "Ada@Example.com"))
    assert (claims.subject, claims.email, claims.token_use) == ("ada", "ada@example.com", "id")


def test_the_email_claim_is_normalized_as_the_kernel_does_and_never_folded_into_ascii(idp: LocalIdp) -> None:
    claims = verifier(idp).verify(idp.id_token("kate", "\u212aate@Example.COM"))
    assert claims.email == "\u212aate@example.com"


def test_an_unverified_or_absent_email_is_not_reported(idp: LocalIdp) -> None:
    assert verifier(idp).verify(idp.id_token("ada", "ada@example.com", email_verified=False)).email is None
    assert verifier(idp).verify(idp.id_token("ada", "ada@example.com", email_verified=None)).email is None
    assert (
        verifier(idp).verify(idp.id_token("ada", "ada@example.com", email_verified="true")).email == "ada@example.com"
    )


@pytest.mark.parametrize(
    ("claim", "groups"),
    [
        (["keel-operators", "staff"], {"keel-operators", "staff"}),  # Cognito's cognito:groups, a JSON list
        ("keel-operators staff", {"keel-operators", "staff"}),  # one space-separated string
        ("keel-operators,staff", {"keel-operators", "staff"}),
        ([1, None, "staff", ""], {"staff"}),  # anything but a name is no group
        ({"keel-operators": True}, set()),
        (None, set()),
    ],
)
def test_the_groups_claim_becomes_the_users_groups(idp: LocalIdp, claim: object, groups: set[str]) -> None:
    token = idp.id_token("ada", "ada@example.com", **{"cognito:groups": claim})
    assert verifier(idp).verify(token).groups == groups


def test_the_groups_claim_is_read_under_the_name_configured(idp: LocalIdp) -> None:
    token = idp.id_token("ada", "ada@example.com", groups=["keel-operators"], **{"cognito:groups": ["other"]})
    configured = JwtVerifier(issuer=ISSUER, audiences=[AUDIENCE], jwks_url=idp.jwks_url, groups_claim="groups")
    assert configured.verify(token).groups == {"keel-operators"}
    assert verifier(idp).verify(token).groups == {"other"}


def test_a_token_without_token_use_passes_only_when_none_is_required(idp: LocalIdp) -> None:
    token = idp.id_token("ada", token_use=None)
    with pytest.raises(InvalidCredentials):
        verifier(idp).verify(token)
    assert verifier(idp, token_uses=()).verify(token).subject == "ada"


def test_an_access_token_naming_the_client_in_aud_also_passes(idp: LocalIdp) -> None:
    assert verifier(idp).verify(idp.access_token("ada", aud=AUDIENCE)).subject == "ada"


def test_an_audience_list_passes_when_it_names_us(idp: LocalIdp) -> None:
    assert verifier(idp).verify(idp.id_token("ada", aud=["other", AUDIENCE])).subject == "ada"
    with pytest.raises(InvalidCredentials):
        verifier(idp).verify(idp.id_token("ada", aud=["other"]))


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "iss"])
def test_a_token_missing_a_required_claim_is_refused(idp: LocalIdp, missing: str) -> None:
    claims = idp.claims("ada", "ada@example.com")
    claims.pop(missing)
    with pytest.raises(InvalidCredentials):
        verifier(idp).verify(idp.sign(claims))


def test_a_rotated_key_is_picked_up_once_the_cooldown_allows(idp: LocalIdp) -> None:
    check = JwtVerifier(issuer=ISSUER, audiences=[AUDIENCE], jwks_url=idp.jwks_url, jwks_refresh_cooldown_seconds=0)
    assert check.verify(idp.id_token("ada")).subject == "ada"
    # When the issuer publishes a new key and signs with it
    idp.keys.append(public_jwk(rsa_key("rotated"), "test-key-2"))
    rotated = idp.sign(idp.claims("ada"), key="rotated", kid="test-key-2")
    # Then the next token with the new kid refreshes the key set once
    assert check.verify(rotated).subject == "ada"
    assert idp.jwks_fetches == 2


def test_an_unreachable_jwks_is_our_failure_not_the_callers(idp: LocalIdp) -> None:
    broken = JwtVerifier(issuer=ISSUER, audiences=[AUDIENCE], jwks_url="http://127.0.0.1:9/.well-known/jwks.json")
    with pytest.raises(IdentityProviderUnavailable):
        broken.verify(idp.id_token("ada"))


def test_configuration_is_required() -> None:
    with pytest.raises(ValueError, match="issuer"):
        JwtVerifier(issuer="", audiences=[AUDIENCE], jwks_url="https://x/jwks")


def test_the_leeway_is_60_seconds_each_way(idp: LocalIdp) -> None:
    now = int(time.time())
    check = verifier(idp)
    assert check.verify(idp.id_token("ada", exp=now - 50)).subject == "ada"
    assert check.verify(idp.id_token("ada", nbf=now + 50)).subject == "ada"
    with pytest.raises(InvalidCredentials):
        check.verify(idp.id_token("ada", exp=now - 70))
    with pytest.raises(InvalidCredentials):
        check.verify(idp.id_token("ada", nbf=now + 70))
