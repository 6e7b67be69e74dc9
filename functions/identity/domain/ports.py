"""What the services need from the outside world, as protocols the adapters implement."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Generic, Protocol, Self, TypeVar

from keel.tenancy import Role

if TYPE_CHECKING:  # the authorizer imports these ports: none of the domain's objects, nor pydantic
    from functions.identity.domain.api_key import ApiKey, ApiKeyGrant
    from functions.identity.domain.invitation import Invitation, Revocation
    from functions.identity.domain.limits import Below
    from functions.identity.domain.membership import Membership
    from functions.identity.domain.tenant import Seats, Tenant, TenantStatus, TenantSummary
    from functions.identity.domain.user import UserProfile
    from keel.events import Envelope
    from keel.tenancy import TenantContext

T = TypeVar("T")


@dataclass(frozen=True)
class Claims:
    """A verified token's facts. ``email`` is set only when the IdP marks it verified.
    ``valid_until``: epoch seconds from which the verifier refuses the token (``exp`` plus its
    clock-skew leeway); the API refuses it from then on too, even on a cached authorization."""

    subject: str
    email: str | None
    token_use: str | None
    valid_until: int | None = None
    #: The groups the identity provider put the user in (its groups claim), e.g. the operators group.
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MemberGrant:
    """What the authorizer learns about a member of a tenant: the role, the tenant's plan, and
    whether an operator suspended the tenant."""

    role: Role
    plan: str
    suspended: bool = False
    #: The tier of the tenant's own API Gateway key (``Seats.usage_tier``); ``None``: none yet.
    usage_tier: str | None = None
    #: The plan's features that are on (``Seats.features``); ``None``: not known yet.
    features: frozenset[str] | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and the opaque cursor of the next (``None`` on the last page)."""

    items: list[T]
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


# Each service depends on the few operations it uses; ``adapters/`` implements them with one
# repository per aggregate. Each write is one transaction carrying its events. ``acting_as`` gives
# a repository whose writes also check, in their own transaction, that the actor still has the
# access API Gateway's cached authorizer answer says it has (a 403 ``access_changed`` if not).


class TenantStore(Protocol):
    def acting_as(self, actor: TenantContext) -> Self: ...

    def add(
        self,
        tenant: Tenant,
        seats: Seats,
        owner: Membership,
        profile: UserProfile,
        events: Sequence[Envelope],
        *,
        allowance: Below,
    ) -> None:
        """The tenant, its slug, its ledger, its owner's membership and profile, and ``events``; it
        counts against the owner's ``allowance`` of tenants created (403 ``tenant_limit`` past it)."""
        ...

    def with_seats(self, tenant_id: str) -> tuple[Tenant, Seats] | None: ...

    def save(self, tenant: Tenant, *, previous_slug: str) -> None: ...


@dataclass(frozen=True)
class TenantDetails:
    """A tenant as an operator sees it: the tenant and its seat ledger (plan, seats, owners' emails,
    active keys), read together in one request."""

    tenant: Tenant
    seats: Seats


class TenantDirectory(Protocol):
    """Every tenant, for the operators: the directory of tenants by status, newest first."""

    def page(self, status: TenantStatus | None, *, limit: int, cursor: str | None) -> Page[TenantSummary]: ...

    def details(self, tenant_id: str) -> TenantDetails | None: ...

    def change_status(self, read: TenantDetails, changed: Tenant, event: Envelope) -> None:
        """``changed`` (suspended or reactivated) if the tenant is still as ``read``, its place in the
        directory and the status on its API keys' lookups with it, and ``event``; a key issued or
        revoked meanwhile is a ``TenantChangedMeanwhile``."""
        ...


class AuthorizerCache(Protocol):
    """API Gateway's cache of the authorizer's answers."""

    def flush(self) -> None:
        """Forget every cached answer: the next request of each caller is authorized afresh."""
        ...


class UsagePlans(Protocol):
    """API Gateway's usage plans, one per rate tier: where each tenant's key is counted."""

    def provide(self, tenant_id: str, tier: str) -> bool:
        """Make sure ``tenant_id``'s key for ``tier`` (``usage.usage_key``) exists in ``tier``'s usage
        plan. ``False``: there are no usage plans (yet) to keep keys in, so nothing was made."""
        ...


class UsageTiers(Protocol):
    """Where identity records which tier's key a tenant has (``Seats.usage_tier``)."""

    def seats(self, tenant_ids: Sequence[str]) -> dict[str, Seats]:
        """The seat ledgers of ``tenant_ids`` (those that exist), in as few reads as the store allows."""
        ...

    def active_api_key_hashes(self, tenant_id: str) -> list[str]: ...

    def record(self, tenant_id: str, tier: str, *, seats_version: int, api_key_hashes: Sequence[str]) -> bool:
        """``tier`` as the tenant's ``usage_tier``, on its ledger and the lookups of ``api_key_hashes``,
        if the ledger is still at ``seats_version``; ``False`` when it was not."""
        ...


class TenantReader(Protocol):
    def get(self, tenant_id: str) -> Tenant | None: ...

    def with_member(self, tenant_id: str, user_id: str) -> tuple[Tenant | None, Membership | None]: ...


class SeatsReader(Protocol):
    def seats(self, tenant_id: str) -> Seats | None: ...


class MembershipIndex(Protocol):
    def memberships_of(self, user_id: str, *, limit: int, cursor: str | None) -> Page[Membership]: ...


class MemberStore(Protocol):
    def acting_as(self, actor: TenantContext) -> Self: ...

    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[Membership]: ...

    def with_seats(self, tenant_id: str, user_id: str) -> tuple[Membership | None, Seats | None]: ...

    def change_role(
        self, member: Membership, role: Role, event: Envelope, revocations: Sequence[Revocation] = ()
    ) -> None:
        """The new role, and ``revocations`` of the member's pending invitations above it, at once."""
        ...

    def remove(self, member: Membership, event: Envelope, revocations: Sequence[Revocation] = ()) -> None:
        """The membership gone with the member's pending invitations (``revocations``), at once."""
        ...


class InvitationStore(Protocol):
    def acting_as(self, actor: TenantContext) -> Self: ...

    def add(self, invitation: Invitation, event: Envelope, *, sender: Membership | None = None) -> None:
        """A pending invitation holding a seat and its email, indexed by its hour of expiry, and
        recorded on its ``sender``'s membership (a person's, as read: it fails if that changed since)."""
        ...

    def get(self, tenant_id: str, invitation_id: str) -> Invitation | None: ...

    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[Invitation]: ...

    def pending(self, tenant_id: str, invitation_id: str) -> Invitation | None:
        """The invitation if it is stored as pending (a lapsed one too: it is the caller's to judge)."""
        ...

    def accept(self, accepted: Invitation, member: Membership, profile: UserProfile, event: Envelope) -> None:
        """The new member, if whoever sent the invitation can still grant its role (else 403)."""
        ...

    def close(self, closed: Invitation, event: Envelope | None = None) -> None:
        """Revoke or expire: the invitation's seat and email go back to the tenant."""
        ...


class InvitationLinks(Protocol):
    """Verifies the token of an invitation's accept link (``keel.contracts.identity``)."""

    def opened_by(self, token: str) -> tuple[str, str] | None:
        """``(tenant id, invitation id)`` the token was made for, or ``None`` if identity did not make it."""
        ...


class ExpiryIndex(Protocol):
    """Pending invitations by hour of expiry, and how far the hourly sweep got."""

    def expiring_in(self, hour: datetime) -> list[tuple[str, str]]:
        """``(tenant id, invitation id)`` of the invitations that expire within ``hour``."""
        ...

    def swept_until(self) -> datetime | None: ...

    def record_sweep(self, hour: datetime) -> None: ...


class ApiKeyStore(Protocol):
    def acting_as(self, actor: TenantContext) -> Self: ...

    def add(
        self, key: ApiKey, *, plan: str, usage_tier: str | None, features: frozenset[str] | None, event: Envelope
    ) -> None:
        """The key, and its lookup by secret hash carrying ``plan``, ``usage_tier`` and ``features``
        (which must still be the tenant's)."""
        ...

    def get(self, tenant_id: str, api_key_id: str) -> ApiKey | None: ...

    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> Page[ApiKey]: ...

    def revoke(self, revoked: ApiKey, event: Envelope) -> None: ...


class EntitlementsCopy(Protocol):
    """Identity's copy of billing's entitlements; the write joins the consumer's own unit of work
    (with its inbox marker), so it is applied exactly once."""

    def seats(self, tenant_id: str) -> Seats | None: ...

    def active_api_key_hashes(self, tenant_id: str) -> list[str]: ...

    def replace(
        self,
        *,
        tenant_id: str,
        plan: str,
        seat_limit: int | None,
        rate_tier: str,
        usage_tier: str | None,
        features: frozenset[str],
        effective_at: datetime,
        seats_version: int,
        api_key_hashes: Sequence[str],
    ) -> None:
        """The new plan, seat limit, rate tier, usage tier and features, if the ledger is still at
        ``seats_version``; the plan, usage tier and features also onto the lookups of ``api_key_hashes``."""
        ...

    def once_written(self, action: Callable[[], None]) -> None:
        """Run ``action`` after the unit of work has committed (never if it does not)."""
        ...
