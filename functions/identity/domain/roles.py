"""Who may change whose role, remove whom, and grant what. Pure rules, no I/O.

- Only an owner makes, unmakes or removes owners (``OwnerRequired``, 403).
- The last owner can be neither demoted nor removed, not even by leaving (``LastOwner``, 409).
- Everyone may leave; removing someone else needs admin.
- Nobody grants more than they hold: invitations and API keys carry at most the granter's role,
  and an API key is never an owner (owner actions need a person).
"""

from __future__ import annotations

from functions.identity.domain.errors import LastOwner, OwnerRequired
from functions.identity.domain.tenant import ANOTHER_OWNER
from keel.errors import Forbidden, Unprocessable
from keel.tenancy import Role

API_KEY_ROLES = frozenset({Role.ADMIN, Role.MEMBER})


def check_role_change(*, actor: Role, current: Role, new: Role, owners: int) -> None:
    """Refuse a role change the rules forbid; ``owners`` is the tenant's owner count now."""
    if not actor.at_least(Role.ADMIN):
        raise Forbidden("changing roles needs the admin role")
    if Role.OWNER in (current, new) and actor is not Role.OWNER:
        raise OwnerRequired("only an owner makes or unmakes owners")
    if current is Role.OWNER and new is not Role.OWNER and not ANOTHER_OWNER.holds({"owners": owners}):
        raise LastOwner("the last owner cannot be demoted; make someone else owner first")


def check_removal(*, actor: Role, actor_id: str, member_id: str, member_role: Role, owners: int) -> None:
    """Refuse a removal the rules forbid (a member removing themself is leaving)."""
    leaving = actor_id == member_id
    if not leaving and not actor.at_least(Role.ADMIN):
        raise Forbidden("removing another member needs the admin role")
    if member_role is Role.OWNER and not leaving and actor is not Role.OWNER:
        raise OwnerRequired("only an owner removes owners")
    if member_role is Role.OWNER and not ANOTHER_OWNER.holds({"owners": owners}):
        raise LastOwner("the last owner cannot leave or be removed; make someone else owner first")


def check_grant(*, actor: Role, role: Role) -> None:
    """Refuse inviting someone as ``role`` unless the actor holds it (owners invite owners)."""
    if role is Role.OWNER and actor is not Role.OWNER:
        raise OwnerRequired("only an owner invites owners")
    if not actor.at_least(role):
        raise Forbidden(f"granting {role.value} needs the {role.value} role")


def check_api_key_role(*, actor: Role, role: Role) -> None:
    """Refuse an API key role that is an owner's or above the actor's own."""
    if role not in API_KEY_ROLES:
        raise Unprocessable("an API key's role is admin or member")
    check_grant(actor=actor, role=role)
