"""The role rules, over every combination of actor, member and role (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.identity.domain.errors import LastOwner, OwnerRequired
from functions.identity.domain.roles import check_api_key_role, check_grant, check_removal, check_role_change
from keel.errors import Forbidden, KeelError, Unprocessable
from keel.tenancy import Role

roles = st.sampled_from(list(Role))
owner_counts = st.integers(min_value=1, max_value=5)


def allowed(check, **kwargs) -> bool:  # type: ignore[no-untyped-def]
    try:
        check(**kwargs)
    except KeelError:
        return False
    return True


@given(actor=roles, current=roles, new=roles, owners=owner_counts)
def test_only_an_owner_touches_an_owners_role(actor: Role, current: Role, new: Role, owners: int) -> None:
    if Role.OWNER in (current, new) and actor is not Role.OWNER:
        assert not allowed(check_role_change, actor=actor, current=current, new=new, owners=owners)


@given(actor=roles, new=roles)
def test_the_last_owner_is_never_demoted(actor: Role, new: Role) -> None:
    if new is not Role.OWNER:
        assert not allowed(check_role_change, actor=actor, current=Role.OWNER, new=new, owners=1)


@given(current=roles, new=roles, owners=owner_counts)
def test_an_owner_may_change_any_role_while_another_owner_remains(current: Role, new: Role, owners: int) -> None:
    remains = not (current is Role.OWNER and new is not Role.OWNER and owners == 1)
    assert allowed(check_role_change, actor=Role.OWNER, current=current, new=new, owners=owners) == remains


@given(current=roles, new=roles, owners=owner_counts)
def test_a_member_changes_no_role(current: Role, new: Role, owners: int) -> None:
    assert not allowed(check_role_change, actor=Role.MEMBER, current=current, new=new, owners=owners)


def test_demoting_the_last_owner_is_a_409_and_an_admin_making_an_owner_a_403() -> None:
    with pytest.raises(LastOwner):
        check_role_change(actor=Role.OWNER, current=Role.OWNER, new=Role.ADMIN, owners=1)
    with pytest.raises(OwnerRequired):
        check_role_change(actor=Role.ADMIN, current=Role.MEMBER, new=Role.OWNER, owners=1)
    assert LastOwner.status == 409
    assert OwnerRequired.status == 403


@given(actor=roles, member_role=roles, owners=owner_counts)
def test_everyone_may_leave_except_the_last_owner(actor: Role, member_role: Role, owners: int) -> None:
    leaving = allowed(
        check_removal, actor=member_role, actor_id="usr_me", member_id="usr_me", member_role=member_role, owners=owners
    )
    assert leaving == (member_role is not Role.OWNER or owners > 1)


@given(actor=roles, member_role=roles, owners=owner_counts)
def test_removing_someone_else_needs_admin_and_owners_go_only_by_an_owners_hand(
    actor: Role, member_role: Role, owners: int
) -> None:
    ok = allowed(
        check_removal, actor=actor, actor_id="usr_a", member_id="usr_b", member_role=member_role, owners=owners
    )
    if not actor.at_least(Role.ADMIN):
        assert not ok
    if member_role is Role.OWNER and actor is not Role.OWNER:
        assert not ok
    if actor is Role.OWNER and (member_role is not Role.OWNER or owners > 1):
        assert ok


@given(actor=roles, role=roles)
def test_nobody_grants_more_than_they_hold(actor: Role, role: Role) -> None:
    assert allowed(check_grant, actor=actor, role=role) == actor.at_least(role)


@given(actor=roles, role=roles)
def test_an_api_key_is_admin_or_member_and_never_above_its_creator(actor: Role, role: Role) -> None:
    ok = allowed(check_api_key_role, actor=actor, role=role)
    assert ok == (role is not Role.OWNER and actor.at_least(role))


def test_an_owner_api_key_is_unprocessable_and_a_member_granting_admin_forbidden() -> None:
    with pytest.raises(Unprocessable):
        check_api_key_role(actor=Role.OWNER, role=Role.OWNER)
    with pytest.raises(Forbidden):
        check_grant(actor=Role.MEMBER, role=Role.ADMIN)
