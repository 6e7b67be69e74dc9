"""Identity's items <-> its domain objects: the only place that knows the attributes of each item."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from functions.identity.adapters.keys import (
    api_key_key,
    api_key_lookup_key,
    directory_key,
    member_key,
    profile_key,
    seats_key,
    tenant_key,
    user_membership_key,
)
from functions.identity.domain.api_key import ApiKey, ApiKeyGrant
from functions.identity.domain.invitation import Invitation
from functions.identity.domain.invitation_status import InvitationStatus
from functions.identity.domain.membership import Membership, SentInvitation
from functions.identity.domain.tenant import Seats, Suspension, Tenant, TenantStatus, TenantSummary
from functions.identity.domain.user import UserProfile
from keel.clock import iso
from keel.rate_tiers import DEFAULT_TIER
from keel.store import Item
from keel.tenancy import Role, decode_features, encode_features


def time_of(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def maybe_time_of(value: Any) -> datetime | None:
    return time_of(value) if value else None


#: The shape of the tenant items this code writes. Items written before it was recorded carry none and
#: read as version 1; migration 0001 backfills it (``functions/identity/migrations``).
TENANT_SCHEMA_VERSION = 1
SCHEMA_VERSION = "schema_version"


def tenant_item(tenant: Tenant) -> Item:
    suspension = tenant.suspension
    return {
        **tenant_key(tenant.id),
        SCHEMA_VERSION: TENANT_SCHEMA_VERSION,
        "id": tenant.id,
        "name": tenant.name,
        "slug": tenant.slug,
        "status": tenant.status.value,
        "created_at": iso(tenant.created_at),
        "created_by": tenant.created_by,
        "suspended_at": iso(suspension.at) if suspension else None,
        "suspended_by": suspension.by if suspension else None,
        "suspension_reason": suspension.reason if suspension else None,
    }


def to_tenant(item: Mapping[str, Any]) -> Tenant:
    suspended_at = maybe_time_of(item.get("suspended_at"))
    return Tenant(
        id=item["id"],
        name=item["name"],
        slug=item["slug"],
        status=TenantStatus(item["status"]),
        created_at=time_of(item["created_at"]),
        created_by=item["created_by"],
        version=int(item["version"]),
        suspension=(
            Suspension(at=suspended_at, by=item["suspended_by"], reason=item.get("suspension_reason", ""))
            if suspended_at
            else None
        ),
    )


def directory_item(tenant: Tenant, *, status: TenantStatus | None) -> Item:
    """The tenant's row in the directory partition of ``status`` (``None``: the one of every tenant)."""
    return {
        **directory_key(status.value if status else None, tenant.id),
        "id": tenant.id,
        "name": tenant.name,
        "slug": tenant.slug,
        "status": tenant.status.value,
        "created_at": iso(tenant.created_at),
    }


def to_summary(item: Mapping[str, Any]) -> TenantSummary:
    return TenantSummary(
        id=item["id"],
        name=item["name"],
        slug=item["slug"],
        status=TenantStatus(item["status"]),
        created_at=time_of(item["created_at"]),
    )


#: On the seat ledger, one attribute per owner (their email) and per active API key (its secret
#: hash): flat, so that adding or removing one never depends on a parent map existing.
OWNER_PREFIX = "owner_"
API_KEY_PREFIX = "apikey_"
#: The ledger's rate tier of the plan, and (there and on API keys' lookups) the tier of the tenant's own
#: API Gateway key; no ``usage_tier``: none yet.
RATE_TIER, USAGE_TIER = "rate_tier", "usage_tier"
#: There and on API keys' lookups: the plan's features that are on, spelled as the authorizer's context
#: spells them (``keel.tenancy.encode_features``); absent: not known yet.
FEATURES = "features"


def features_attribute(features: frozenset[str] | None) -> Item:
    """``features`` as an item's attribute: none at all while they are not known."""
    return {} if features is None else {FEATURES: encode_features(features)}


def owner_attribute(user_id: str) -> str:
    return f"{OWNER_PREFIX}{user_id}"


def api_key_attribute(api_key_id: str) -> str:
    return f"{API_KEY_PREFIX}{api_key_id}"


def _values_under(item: Mapping[str, Any], prefix: str) -> tuple[str, ...]:
    return tuple(str(item[name]) for name in sorted(item) if name.startswith(prefix))


def to_seats(item: Mapping[str, Any]) -> Seats:
    return Seats(
        plan=item["plan"],
        seat_limit=int(item["seat_limit"]) if item.get("seat_limit") is not None else None,
        members=int(item["members"]),
        pending=int(item["pending"]),
        owners=int(item["owners"]),
        api_keys=int(item.get("api_keys", 0)),
        entitlements_effective_at=maybe_time_of(item.get("entitlements_effective_at")),
        version=int(item["version"]),
        owner_emails=tuple(sorted(_values_under(item, OWNER_PREFIX))),
        api_key_hashes=_values_under(item, API_KEY_PREFIX),
        rate_tier=str(item.get(RATE_TIER) or DEFAULT_TIER),
        usage_tier=item.get(USAGE_TIER),
        features=decode_features(item.get(FEATURES)),
    )


def seats_item(tenant_id: str, seats: Seats, *, owner: Membership) -> Item:
    """A new tenant's ledger, its first owner recorded on it."""
    return {
        **seats_key(tenant_id),
        owner_attribute(owner.user_id): owner.email,
        "plan": seats.plan,
        "seat_limit": seats.seat_limit,
        "members": seats.members,
        "pending": seats.pending,
        "taken": seats.taken,
        "owners": seats.owners,
        "api_keys": seats.api_keys,
        RATE_TIER: seats.rate_tier,
        **({USAGE_TIER: seats.usage_tier} if seats.usage_tier else {}),
        **features_attribute(seats.features),
    }


#: A member item holds one top-level attribute per pending invitation the member sent (flat, so
#: that adding or removing one never depends on a parent map existing).
SENT_PREFIX = "sent_"


def sent_attribute(invitation_id: str) -> str:
    return f"{SENT_PREFIX}{invitation_id}"


def sent_entry(sent: SentInvitation) -> Item:
    return {
        "email": sent.email,
        "role": sent.role.value,
        "expires_at": iso(sent.expires_at),
    }


def member_item(member: Membership) -> Item:
    return {
        **member_key(member.tenant_id, member.user_id),
        "tenant_id": member.tenant_id,
        "user_id": member.user_id,
        "email": member.email,
        "role": member.role.value,
        "joined_at": iso(member.joined_at),
        "invitation_id": member.invitation_id,
        **{sent_attribute(s.id): sent_entry(s) for s in member.sent},
    }


def to_member(item: Mapping[str, Any]) -> Membership:
    sent = tuple(
        SentInvitation(
            id=name.removeprefix(SENT_PREFIX),
            email=entry["email"],
            role=Role(entry["role"]),
            expires_at=time_of(entry["expires_at"]),
        )
        for name, entry in sorted(item.items())
        if name.startswith(SENT_PREFIX)
    )
    return Membership(
        tenant_id=item["tenant_id"],
        user_id=item["user_id"],
        email=item["email"],
        role=Role(item["role"]),
        joined_at=time_of(item["joined_at"]),
        invitation_id=item.get("invitation_id"),
        sent=sent,
        version=int(item.get("version", 1)),
    )


def user_membership_item(member: Membership) -> Item:
    return {
        **user_membership_key(member.user_id, member.tenant_id),
        "tenant_id": member.tenant_id,
        "user_id": member.user_id,
        "email": member.email,
        "role": member.role.value,
        "joined_at": iso(member.joined_at),
    }


def profile_item(profile: UserProfile) -> Item:
    return {
        **profile_key(profile.user_id),
        "user_id": profile.user_id,
        "email": profile.email,
        "issuer": profile.issuer,
        "subject": profile.subject,
        "updated_at": iso(profile.updated_at),
    }


def invitation_fields(invitation: Invitation) -> Item:
    return {
        "id": invitation.id,
        "tenant_id": invitation.tenant_id,
        "email": invitation.email,
        "role": invitation.role.value,
        "status": invitation.status.value,
        "invited_by": invitation.invited_by,
        "created_at": iso(invitation.created_at),
        "expires_at": iso(invitation.expires_at),
        "accepted_by": invitation.accepted_by,
        "closed_at": iso(invitation.closed_at) if invitation.closed_at else None,
        "closed_by": invitation.closed_by,
    }


def to_invitation(item: Mapping[str, Any]) -> Invitation:
    return Invitation(
        id=item["id"],
        tenant_id=item["tenant_id"],
        email=item["email"],
        role=Role(item["role"]),
        status=InvitationStatus(item["status"]),
        invited_by=item["invited_by"],
        created_at=time_of(item["created_at"]),
        expires_at=time_of(item["expires_at"]),
        accepted_by=item.get("accepted_by"),
        closed_at=maybe_time_of(item.get("closed_at")),
        closed_by=item.get("closed_by"),
        version=int(item.get("version", 1)),
    )


def api_key_item(key: ApiKey) -> Item:
    return {
        **api_key_key(key.tenant_id, key.id),
        "id": key.id,
        "tenant_id": key.tenant_id,
        "name": key.name,
        "prefix": key.prefix,
        "role": key.role.value,
        "created_by": key.created_by,
        "created_at": iso(key.created_at),
        "secret_hash": key.secret_hash,
        "revoked": key.revoked,
        "revoked_at": iso(key.revoked_at) if key.revoked_at else None,
        "revoked_by": key.revoked_by,
    }


def api_key_lookup_item(key: ApiKey, plan: str, usage_tier: str | None, features: frozenset[str] | None) -> Item:
    """What the authorizer reads by a key's secret hash: tenant, role, the tenant's plan, the tier
    of its own API Gateway key and the plan's features."""
    return api_key_lookup_key(key.secret_hash) | {
        "tenant_id": key.tenant_id,
        "api_key_id": key.id,
        "role": key.role.value,
        "plan": plan,
        **({USAGE_TIER: usage_tier} if usage_tier else {}),
        **features_attribute(features),
    }


#: The attribute of an API key's lookup holding its tenant's status (absent: active).
LOOKUP_STATUS = "tenant_status"


def to_api_key_grant(item: Mapping[str, Any]) -> ApiKeyGrant:
    return ApiKeyGrant(
        api_key_id=item["api_key_id"],
        tenant_id=item["tenant_id"],
        role=Role(item["role"]),
        plan=item["plan"],
        suspended=item.get(LOOKUP_STATUS) == TenantStatus.SUSPENDED.value,
        usage_tier=item.get(USAGE_TIER),
        features=decode_features(item.get(FEATURES)),
    )


def to_api_key(item: Mapping[str, Any]) -> ApiKey:
    return ApiKey(
        id=item["id"],
        tenant_id=item["tenant_id"],
        name=item["name"],
        prefix=item["prefix"],
        role=Role(item["role"]),
        created_by=item["created_by"],
        created_at=time_of(item["created_at"]),
        secret_hash=item["secret_hash"],
        revoked=bool(item.get("revoked", False)),
        revoked_at=maybe_time_of(item.get("revoked_at")),
        revoked_by=item.get("revoked_by"),
        version=int(item.get("version", 1)),
    )
