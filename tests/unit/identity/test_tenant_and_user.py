"""Slugs, seats, user ids and API key secrets."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ulid import ULID

from functions.identity.domain.api_key import ApiKey, hash_secret, looks_like_api_key
from functions.identity.domain.errors import VerifiedEmailRequired
from functions.identity.domain.slugs import RESERVED_SLUGS, SLUG_PATTERN, slugify, with_suffix
from functions.identity.domain.tenant import FREE_PLAN, Seats
from functions.identity.domain.user import Person, user_id_for
from keel import ids
from keel.tenancy import Role


@given(st.text(max_size=200))
def test_every_name_gives_a_valid_slug(name: str) -> None:
    slug = slugify(name)
    assert re.fullmatch(SLUG_PATTERN, slug), slug
    assert re.fullmatch(SLUG_PATTERN, with_suffix(slug))


def test_slugs_read_like_the_name() -> None:
    assert slugify("Acme Corp") == "acme-corp"
    assert slugify("  Ünïcödé & Sons, Ltd.  ") == "unicode-sons-ltd"
    assert slugify("!!!") == "tenant"
    assert with_suffix("acme") != with_suffix("acme")


def test_a_new_tenant_is_on_the_free_plan_with_its_owner_holding_one_seat() -> None:
    seats = Seats.for_new_tenant("ada@example.com")
    assert (seats.plan, seats.seat_limit) == (FREE_PLAN.name, FREE_PLAN.seat_limit) == ("free", 3)
    assert (seats.members, seats.pending, seats.taken, seats.owners) == (1, 0, 1, 1)


@given(
    limit=st.one_of(st.none(), st.integers(min_value=1, max_value=10)),
    members=st.integers(min_value=1, max_value=12),
    pending=st.integers(min_value=0, max_value=12),
)
def test_pending_invitations_hold_seats_for_invites_while_accepts_count_members(
    limit: int | None, members: int, pending: int
) -> None:
    seats = Seats(plan="p", seat_limit=limit, members=members, pending=pending, owners=1)
    assert seats.can_invite() == (limit is None or members + pending < limit)
    assert seats.can_accept() == (limit is None or members < limit)


def test_only_newer_entitlements_replace_the_copy() -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    fresh = Seats.for_new_tenant("ada@example.com")
    held = Seats(plan="pro", seat_limit=10, members=1, pending=0, owners=1, entitlements_effective_at=at)
    assert fresh.is_newer(at)
    assert held.is_newer(at + timedelta(seconds=1))
    assert not held.is_newer(at)
    assert not held.is_newer(at - timedelta(days=1))


@given(issuer=st.sampled_from(["https://a.example", "https://b.example"]), subject=st.text(min_size=1, max_size=60))
def test_a_user_id_is_a_stable_prefixed_ulid_of_issuer_and_subject(issuer: str, subject: str) -> None:
    user_id = user_id_for(issuer, subject)
    assert ids.is_id("usr", user_id)
    assert str(ULID.from_str(user_id[4:])) == user_id[4:]
    assert user_id == user_id_for(issuer, subject)


def test_the_same_subject_at_another_issuer_is_another_user() -> None:
    assert user_id_for("https://a.example", "sub-1") != user_id_for("https://b.example", "sub-1")
    assert user_id_for("https://a.example", "sub-1") != user_id_for("https://a.example", "sub-2")


def test_a_verified_email_is_kept_in_the_kernels_one_normalized_form() -> None:
    assert Person(user_id="usr_1", email="  Grace@Example.COM ").verified_email() == "grace@example.com"


@pytest.mark.parametrize("claimed", ["\u212aate@example.com", "grace@", "grace example.com", "a@b"])
def test_a_verified_claim_that_is_no_usable_address_counts_as_no_verified_email(claimed: str) -> None:
    with pytest.raises(VerifiedEmailRequired):
        Person(user_id="usr_1", email=claimed).verified_email()


def test_an_api_key_secret_is_random_prefixed_and_kept_only_as_a_hash() -> None:
    key, secret = ApiKey.issue(
        api_key_id="key_1", tenant_id="ten_1", name="ci", role=Role.MEMBER, created_by="usr_1", now=datetime.now(UTC)
    )
    assert looks_like_api_key(secret)
    assert key.prefix == secret[:13]
    assert key.prefix.startswith("keel_")
    assert key.secret_hash == hash_secret(secret)
    assert secret not in repr(key)
    _, other = ApiKey.issue(
        api_key_id="key_2", tenant_id="ten_1", name="ci", role=Role.MEMBER, created_by="usr_1", now=datetime.now(UTC)
    )
    assert other != secret


@given(st.text(max_size=60))
def test_no_name_gives_a_reserved_slug(name: str) -> None:
    assert slugify(name) not in RESERVED_SLUGS


def test_every_reserved_slug_is_a_valid_slug_so_that_refusing_it_is_the_domains_call() -> None:
    assert all(re.fullmatch(SLUG_PATTERN, slug) for slug in RESERVED_SLUGS)
