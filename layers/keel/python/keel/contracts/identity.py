"""Events identity publishes: tenants, memberships, invitations and API keys.

Ids are Keel's prefixed ids (``ten_``, ``usr_``, ``inv_``, ``key_``); roles are ``owner`` /
``admin`` / ``member``; the tenant is the envelope's ``tenant_id``.

No identity event carries a secret, and no usable invitation token is stored anywhere: not in
identity's table, not in its outbox (7 days), not on the bus or in its archive (30 days).

How the invitee's link is made. An invitation's token is *derived*, not random:
``<tenant id>.<invitation id>.<base64url HMAC-SHA256(invitation key, "<tenant id>.<invitation id>")>``
(``invitation_token``). The invitation key is a secret identity reads once per container (a
Secrets Manager secret in the cloud, ``KEEL_IDENTITY_INVITATION_KEY`` locally), granted to identity
and, when it exists, to the mailer. ``identity.user.invited.v2`` carries the invitation id and the
accept link's template; the mailer fills the template at send time (``accept_url``), so the only
copy of a usable link is the email itself. Identity verifies a token by recomputing its MAC
(constant time) and reads the invitation by its key: still one ``GetItem``, and no lookup item.

Why this and not a token handed over on a consumed-once channel: nothing more to run or expire,
the mailer can resend the same link, and a leaked event, archive or table still opens nothing.
What it costs: rotating the key invalidates every pending link (they live 7 days), and whoever
holds the key can mint links, so only identity and the mailer may read it. The token alone still
opens nothing either: accepting also needs a signed-in user whose verified email is the invited one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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
class TenantSuspended(Contract):
    """An operator suspended the tenant: every route of it answers 403 ``tenant_suspended`` until it is
    reactivated. Nothing of it is deleted."""

    TYPE = "identity.tenant.suspended.v1"

    tenant_id: str
    operator_id: str = Field(description="user id of the operator who suspended it")
    reason: str = Field(description="why, in the operator's words")


@contract
class TenantReactivated(Contract):
    """An operator lifted the tenant's suspension: it works again as it did."""

    TYPE = "identity.tenant.reactivated.v1"

    tenant_id: str
    operator_id: str = Field(description="user id of the operator who reactivated it")
    reason: str = Field(description="why, in the operator's words")
    suspension_reason: str = Field(description="why it had been suspended")


@contract
class UserInvited(Contract):
    """Someone was invited to join a tenant; the email to send them needs everything here, and the
    invitation key to make its link (``accept_url``). v2: the link's token no longer travels in the
    event (v1 carried ``accept_url``, token included)."""

    TYPE = "identity.user.invited.v2"

    invitation_id: str
    email: str
    role: RoleName
    invited_by: str = Field(description="user id (or API key id) of the inviter")
    tenant_name: str
    expires_at: datetime
    accept_url_template: str = Field(
        description="the accept link, with {token} where the token goes: made at send time by "
        "keel.contracts.identity.accept_url from the invitation key; no token travels in events"
    )


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


# -- invitation links ---------------------------------------------------------------------------------

_SEPARATOR = "."


def _mac(key: bytes, tenant_id: str, invitation_id: str) -> str:
    digest = hmac.new(key, f"{tenant_id}{_SEPARATOR}{invitation_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def invitation_token(key: bytes, *, tenant_id: str, invitation_id: str) -> str:
    """The token of an invitation's accept link, derived from the invitation key (see the module docstring)."""
    return _SEPARATOR.join((tenant_id, invitation_id, _mac(key, tenant_id, invitation_id)))


def accept_url(template: str, key: bytes, *, tenant_id: str, invitation_id: str) -> str:
    """``template`` (an invitation event's ``accept_url_template``) with the invitation's token in it."""
    return template.replace("{token}", invitation_token(key, tenant_id=tenant_id, invitation_id=invitation_id))


def invitation_of(key: bytes, token: str) -> tuple[str, str] | None:
    """``(tenant id, invitation id)`` of a token made with ``key``; ``None`` for any other string (the
    MAC is compared in constant time)."""
    parts = token.split(_SEPARATOR)
    if len(parts) != 3 or not all(parts):
        return None
    tenant_id, invitation_id, mac = parts
    if not hmac.compare_digest(mac.encode(), _mac(key, tenant_id, invitation_id).encode()):
        return None
    return tenant_id, invitation_id
