"""What the services need from the outside world, as protocols the adapters implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from functions.identity.domain.api_key import ApiKey, ApiKeyGrant
from functions.identity.domain.invitation import Invitation
from functions.identity.domain.membership import Membership
from functions.identity.domain.tenant import Seats, Tenant
from functions.identity.domain.user import UserProfile
from keel.events import Envelope
from keel.store import Transaction
from keel.tenancy import Role, TenantContext


@dataclass(frozen=True)
class Claims:
    """A verified token's facts. ``email`` is set only when the IdP marks it verified.
    ``valid_until``: epoch seconds from which the verifier refuses the token (``exp`` plus its
    clock-skew leeway); the API refuses it from then on too, even on a cached authorization."""

    subject: str
    email: str | None
    token_use: str | None
    valid_until: int | None = None


@dataclass(frozen=True)
class MemberGrant:
    """What the authorizer learns about a member of a tenant: the role, and the tenant's plan."""

    role: Role
    plan: str


@dataclass(frozen=True)
class MembershipPage:
    items: list[Membership]
    cursor: str | None


@dataclass(frozen=True)
class InvitationPage:
    items: list[Invitation]
    cursor: str | None


@dataclass(frozen=True)
class ApiKeyPage:
    items: list[ApiKey]
    cursor: str | None


class TokenVerifier(Protocol):
    @property
    def issuer(self) -> str: ...

    def verify(self, token: str) -> Claims:
        """The token's claims, or ``InvalidCredentials`` (401) / ``IdentityProviderUnavailable`` (5xx)."""
        ...


class AccessStore(Protocol):
    """The authorizer's reads: one DynamoDB request each."""

    def member_grant(self, tenant_id: str, user_id: str) -> MemberGrant | None: ...

    def api_key_grant(self, secret_hash: str) -> ApiKeyGrant | None: ...


class IdentityStore(Protocol):
    """Tenants, members, invitations and API keys. Each write is one transaction with its events."""

    def acting_as(self, actor: TenantContext) -> IdentityStore:
        """This store, whose writes also check, in their own transaction, that ``actor`` still has the
        access API Gateway's cached authorizer answer says it has (a 403 ``access_changed`` if not)."""
        ...

    # -- tenants ----------------------------------------------------------------------------------
    def create_tenant(
        self, tenant: Tenant, seats: Seats, owner: Membership, profile: UserProfile, events: Sequence[Envelope]
    ) -> None: ...

    def tenant(self, tenant_id: str) -> Tenant | None: ...

    def tenant_with_seats(self, tenant_id: str) -> tuple[Tenant, Seats] | None: ...

    def update_tenant(self, tenant: Tenant, *, previous_slug: str) -> None: ...

    def seats(self, tenant_id: str) -> Seats | None: ...

    def memberships_of(self, user_id: str, *, limit: int, cursor: str | None) -> MembershipPage: ...

    # -- members ----------------------------------------------------------------------------------
    def members(self, tenant_id: str, *, limit: int, cursor: str | None) -> MembershipPage: ...

    def member_with_seats(self, tenant_id: str, user_id: str) -> tuple[Membership | None, Seats | None]: ...

    def change_role(self, member: Membership, role: Role, event: Envelope) -> None: ...

    def remove_member(self, member: Membership, event: Envelope) -> None: ...

    # -- invitations ------------------------------------------------------------------------------
    def invite(self, invitation: Invitation, event: Envelope) -> None: ...

    def invitation(self, tenant_id: str, invitation_id: str) -> Invitation | None: ...

    def invitations(self, tenant_id: str, *, limit: int, cursor: str | None) -> InvitationPage: ...

    def pending_invitation(self, token_hash: str) -> Invitation | None: ...

    def accept_invitation(
        self, accepted: Invitation, member: Membership, profile: UserProfile, event: Envelope
    ) -> None: ...

    def close_invitation(self, closed: Invitation) -> None: ...

    def invitations_expiring_in(self, hour: datetime) -> list[tuple[str, str]]: ...

    def expiry_sweep_done_until(self) -> datetime | None: ...

    def record_expiry_sweep(self, hour: datetime) -> None: ...

    # -- API keys ---------------------------------------------------------------------------------
    def create_api_key(self, key: ApiKey, *, plan: str, event: Envelope) -> None: ...

    def api_key(self, tenant_id: str, api_key_id: str) -> ApiKey | None: ...

    def api_keys(self, tenant_id: str, *, limit: int, cursor: str | None) -> ApiKeyPage: ...

    def revoke_api_key(self, revoked: ApiKey, event: Envelope) -> None: ...

    # -- entitlements (consumer) ------------------------------------------------------------------
    def active_api_key_hashes(self, tenant_id: str) -> list[str]: ...

    def add_entitlements(
        self,
        tx: Transaction,
        *,
        tenant_id: str,
        plan: str,
        seat_limit: int | None,
        effective_at: datetime,
        seats_version: int,
        api_key_hashes: Sequence[str],
    ) -> None: ...
