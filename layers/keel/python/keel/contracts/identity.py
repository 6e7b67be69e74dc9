"""Events identity publishes: tenants, memberships, invitations and API keys.

Ids are Keel's prefixed ids (``ten_``, ``usr_``, ``inv_``, ``key_``); roles are ``owner`` /
``admin`` / ``member``; the tenant is the envelope's ``tenant_id``.

``identity.user.invited.v1`` carries ``accept_url``, which holds the invitation's one-time token.
That is deliberate, and the only secret-bearing field identity publishes:

- the invitee's mailbox is the only channel that may receive the token, and notifications (which
  owns email) learns of the invitation only through this event: it may not call identity, and
  identity does not send email itself;
- the token alone opens nothing: accepting also needs a signed-in user whose *verified* email is
  the invited address, so whoever sees the event (the bus, its archive, a consumer's logs) still
  cannot join the tenant without the invitee's identity;
- identity stores only the token's SHA-256; the token dies when the invitation is accepted,
  revoked or 7 days old.

Consumers other than the one that emails the invitee must not store or forward ``accept_url``
(audit and webhooks drop it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from keel.events import Contract, contract

RoleName = Literal["owner", "admin", "member"]


@contract
class TenantCreated(Contract):
    """A tenant exists and its creator is its first owner: the first step of the sign-up saga."""

    TYPE = "identity.tenant.created.v1"

    tenant_id: str
    name: str
    slug: str
    owner_user_id: str
    owner_email: str


@contract
class UserInvited(Contract):
    """Someone was invited to join a tenant; the email to send them needs everything here."""

    TYPE = "identity.user.invited.v1"

    invitation_id: str
    email: str
    role: RoleName
    invited_by: str = Field(description="user id of the inviter")
    tenant_name: str
    expires_at: datetime
    accept_url: str = Field(description="secret-bearing: holds the one-time token; never store or forward it")


@contract
class InvitationRevoked(Contract):
    """A pending invitation was revoked: by an admin, or because whoever sent it was removed or
    demoted below its role. Its seat is free again and its link opens nothing."""

    TYPE = "identity.invitation.revoked.v1"

    invitation_id: str
    email: str
    role: RoleName
    revoked_by: str = Field(description="user id (or API key id) of whoever revoked it or removed the sender")
    reason: Literal["revoked", "sender_removed", "sender_demoted"]


@contract
class MemberJoined(Contract):
    """A user became a member of the tenant (its creator, or an invitee who accepted)."""

    TYPE = "identity.member.joined.v1"

    user_id: str
    email: str
    role: RoleName
    invitation_id: str | None = None


@contract
class MemberRoleChanged(Contract):
    """A member's role changed."""

    TYPE = "identity.member.role_changed.v1"

    user_id: str
    previous_role: RoleName
    role: RoleName
    changed_by: str


@contract
class MemberRemoved(Contract):
    """A member left the tenant or was removed from it."""

    TYPE = "identity.member.removed.v1"

    user_id: str
    email: str
    role: RoleName
    removed_by: str
    reason: Literal["left", "removed"]


@contract
class ApiKeyCreated(Contract):
    """An API key was issued. The secret itself is never in an event."""

    TYPE = "identity.api_key.created.v1"

    api_key_id: str
    name: str
    prefix: str
    role: RoleName
    created_by: str


@contract
class ApiKeyRevoked(Contract):
    """An API key was revoked; the authorizer refuses it once its cached answer expires."""

    TYPE = "identity.api_key.revoked.v1"

    api_key_id: str
    prefix: str
    revoked_by: str
