"""Who is calling, taken only from what the authorizer put in the request context.

Handlers never read a tenant from a body, query string or path: ``Caller.from_authorizer`` is
the one way in, and it trusts only the authorizer's context.

Operators (the people who run a Keel deployment, not a tenant's staff) are users in an identity
provider group (``DEFAULT_OPERATORS_GROUP`` unless configured). They reach the routes under
``ADMIN_PREFIX`` (``Access.OPERATOR``) and nothing else by being operators: on a tenant's routes an
operator is whatever their membership makes them, usually no one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from keel.errors import Forbidden, Unauthorized


class Role(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Access(StrEnum):
    """The least a caller needs for a route. Every route names one; there is no default."""

    PUBLIC = "public"  # no credentials (health, docs, signature-verified webhooks)
    AUTHENTICATED = "authenticated"  # a signed-in user, no tenant chosen yet
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"
    #: An operator of the deployment: granted only on routes under ``ADMIN_PREFIX``, and those routes
    #: grant nothing else (``KeelResolver`` refuses to register either mismatch).
    OPERATOR = "operator"

    @property
    def role(self) -> Role | None:
        """The least tenant role this access needs; ``None`` when no tenant is needed."""
        return _ACCESS_ROLE.get(self)


_ACCESS_ROLE = {Access.MEMBER: Role.MEMBER, Access.ADMIN: Role.ADMIN, Access.OWNER: Role.OWNER}


#: Every operator route is under this path, and nothing else is. API Gateway serves it with the
#: authorizer cached on ``Authorization`` alone: an operator acts in no tenant.
ADMIN_PREFIX = "/v1/admin"
#: The identity provider group whose members are operators, unless a deployment names another.
DEFAULT_OPERATORS_GROUP = "keel-operators"


def is_admin_path(path: str) -> bool:
    """Whether ``path`` is ``ADMIN_PREFIX`` or below it (``/v1/admin/x``, not ``/v1/adminx``)."""
    return path == ADMIN_PREFIX or path.startswith(f"{ADMIN_PREFIX}/")


#: The authorizer-context key that marks an operator (value ``"true"``); only the authorizer sets it,
#: only for a JWT whose groups claim holds the operators group.
OPERATOR_FLAG = "operator"
#: The authorizer-context keys of a Deny: the error ``code`` and ``message`` the caller's 403 carries
#: (API Gateway's ACCESS_DENIED response renders them, and so does the local gateway).
DENIED_CODE, DENIED_MESSAGE = "error_code", "error_message"

#: The authorizer-context key of a credential's expiry: epoch seconds (as a string), the first
#: instant the credential is no longer accepted (its ``exp`` plus the authorizer's clock skew).
VALID_UNTIL = "valid_until"
#: The authorizer-context key of the tenant's plan features that are on (billing's entitlements, as
#: identity copies them), comma-separated and sorted (``encode_features``). Absent: the authorizer does
#: not know them yet, and a context reads its own copy of the entitlements instead.
FEATURES = "features"


def encode_features(features: frozenset[str]) -> str:
    """``features`` as the authorizer context (and identity's copy) spell them: sorted, comma-separated."""
    return ",".join(sorted(features))


def decode_features(value: Any) -> frozenset[str] | None:
    """The features ``encode_features`` spelled; ``None`` for an absent value (not known)."""
    if value is None:
        return None
    return frozenset(name for name in str(value).split(",") if name)


def _refuse_expired(valid_until: Any, now: datetime) -> None:
    if valid_until is None:
        return  # credentials that do not expire (API keys) carry none
    try:
        deadline = int(str(valid_until))
    except ValueError:
        raise Unauthorized("missing or invalid credentials") from None
    if now.timestamp() >= deadline:
        raise Unauthorized("the credential has expired")


@dataclass(frozen=True)
class TenantContext:
    """The caller acting inside one tenant."""

    tenant_id: str
    user_id: str
    role: Role
    plan: str
    #: The plan's features that are on, as the authorizer answered them; ``None``: it did not say
    #: (identity has not copied the tenant's entitlements since it began to), so a context that gates on
    #: a feature reads its own copy of the entitlements.
    features: frozenset[str] | None = None


@dataclass(frozen=True)
class Caller:
    """Whoever the authorizer let through; ``tenant`` is set when the call is tenant-scoped, and
    ``operator`` when the authorizer found the caller in the operators group."""

    user_id: str
    tenant: TenantContext | None = None
    email: str | None = None
    operator: bool = False

    @classmethod
    def from_authorizer(cls, authorizer: Mapping[str, Any] | None, *, now: datetime | None = None) -> Caller:
        """Build from ``requestContext.authorizer`` (values arrive as strings from API Gateway).

        A credential that expires (a JWT) carries ``valid_until`` (``VALID_UNTIL``): from that instant
        on (``now``, the current time by default) it is refused with 401, even when API Gateway
        answers from an authorizer result it cached while the credential was still valid."""
        if not authorizer or not authorizer.get("user_id"):
            raise Unauthorized("missing or invalid credentials")
        _refuse_expired(authorizer.get(VALID_UNTIL), now or datetime.now(UTC))
        user_id = str(authorizer["user_id"])
        email = str(authorizer["email"]) if authorizer.get("email") else None
        operator = str(authorizer.get(OPERATOR_FLAG, "")).lower() == "true"
        tenant_id = authorizer.get("tenant_id")
        if not tenant_id:
            return cls(user_id=user_id, email=email, operator=operator)
        try:
            role = Role(str(authorizer.get("role", "")))
        except ValueError:
            raise Unauthorized("missing or invalid credentials") from None
        tenant = TenantContext(
            tenant_id=str(tenant_id),
            user_id=user_id,
            role=role,
            plan=str(authorizer.get("plan") or "free"),
            features=decode_features(authorizer.get(FEATURES)),
        )
        return cls(user_id=user_id, tenant=tenant, email=email, operator=operator)

    def require(self, access: Access) -> None:
        """Deny unless this caller meets ``access``. Operator access needs the operator flag and
        nothing else; no tenant role, not even an owner's, stands in for it."""
        if access is Access.OPERATOR:
            if not self.operator:
                raise Forbidden("this route is for the deployment's operators")
            return
        needed = access.role
        if needed is None:
            return
        if self.tenant is None:
            raise Forbidden("this route needs a tenant: send X-Tenant-Id")
        if not self.tenant.role.at_least(needed):
            raise Forbidden(f"this action needs the {needed.value} role")

    def in_tenant(self) -> TenantContext:
        if self.tenant is None:
            raise Forbidden("this route needs a tenant: send X-Tenant-Id")
        return self.tenant
