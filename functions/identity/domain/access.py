"""The authorizer's decision: who is calling, for which tenant, with which role.

- ``Authorization: Bearer keel_...`` is an API key: bound to one tenant, found by its hash. An
  ``X-Tenant-Id`` naming another tenant is denied (403).
- Any other bearer credential is a JWT from the configured issuer. With ``X-Tenant-Id`` the caller
  must be a member of that tenant (else denied, 403); without it the caller is just signed in
  (routes with ``Access.AUTHENTICATED``), and an operator if the token's groups hold the operators
  group (routes with ``Access.OPERATOR``; API keys never are). Being an operator grants nothing in a
  tenant: there, only membership counts.
- A suspended tenant is denied to its members and its keys alike (403 ``tenant_suspended``); to
  anyone else it is denied as any tenant they are not in is (403 ``forbidden``).
- A missing, malformed, bad, expired or unknown credential is ``InvalidCredentials`` (401).

A tenant's answer carries its plan and the plan's features that are on (``features``, once identity
holds a copy of them), so a route gated on a feature reads nothing to decide.

Each decision costs at most one DynamoDB request (a JWT without a tenant: none).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from functions.identity.domain.api_key import hash_secret, looks_like_api_key
from functions.identity.domain.errors import InvalidCredentials, TenantSuspended
from functions.identity.domain.ports import AccessStore, TokenVerifier
from functions.identity.domain.usage import usage_key
from functions.identity.domain.user import user_id_for
from keel import ids
from keel.errors import Forbidden
from keel.tenancy import DEFAULT_OPERATORS_GROUP, FEATURES, OPERATOR_FLAG, VALID_UNTIL, encode_features

MAX_CREDENTIAL_LENGTH = 8192
TENANT_PREFIX = "ten"


@dataclass(frozen=True)
class Allow:
    principal_id: str
    #: The authorizer context handlers read (API Gateway passes strings only).
    context: dict[str, str] = field(default_factory=dict)
    #: The API Gateway key the request counts against (``usageIdentifierKey``): the tenant's own key of
    #: its tier (``usage.usage_key``), or the stage's shared key while it has none; ``None`` outside a tenant.
    usage_key: str | None = None


#: What a denied caller is told, unless the tenant is suspended: nothing about why.
NOT_ALLOWED = "not authorized to access this resource"
SUSPENDED = "this tenant is suspended"


@dataclass(frozen=True)
class Deny:
    principal_id: str
    #: Why, for logs only.
    reason: str
    #: The error code and message of the caller's 403 (plain text: API Gateway quotes them into JSON).
    code: str = Forbidden.code
    message: str = NOT_ALLOWED


def _features(features: frozenset[str] | None) -> dict[str, str]:
    """The context's ``features``: absent while identity does not know them (contexts then read their own)."""
    return {} if features is None else {FEATURES: encode_features(features)}


def suspended(principal_id: str) -> Deny:
    return Deny(principal_id, reason="tenant suspended", code=TenantSuspended.code, message=SUSPENDED)


Decision = Allow | Deny


def bearer_credential(authorization: str | None) -> str:
    """The credential of ``Authorization: Bearer <credential>``, or ``InvalidCredentials``."""
    if not authorization:
        raise InvalidCredentials("no Authorization header")
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential or " " in credential:
        raise InvalidCredentials("not a bearer credential")
    if len(credential) > MAX_CREDENTIAL_LENGTH:
        raise InvalidCredentials("credential too long")
    return credential


class AccessService:
    """Decides one authorization request (the authorizer Lambda is a thin wrapper around it)."""

    def __init__(
        self,
        *,
        verifier: TokenVerifier,
        store: AccessStore,
        operators_group: str = DEFAULT_OPERATORS_GROUP,
        shared_usage_key: str | None = None,
    ) -> None:
        self._verifier = verifier
        self._store = store
        self._operators_group = operators_group
        self._shared_usage_key = shared_usage_key

    def _usage(self, tenant_id: str, usage_tier: str | None) -> str | None:
        """The key a request in ``tenant_id`` counts against: its own, else the stage's shared one."""
        return usage_key(tenant_id, usage_tier) if usage_tier is not None else self._shared_usage_key

    def decide(self, *, authorization: str | None, tenant_id: str | None) -> Decision:
        """Allow (with the context), Deny (403), or raise ``InvalidCredentials`` (401)."""
        credential = bearer_credential(authorization)
        wanted = (tenant_id or "").strip() or None
        if looks_like_api_key(credential):
            return self._api_key(credential, wanted)
        return self._jwt(credential, wanted)

    def _api_key(self, secret: str, wanted: str | None) -> Decision:
        grant = self._store.api_key_grant(hash_secret(secret))
        if grant is None:
            raise InvalidCredentials("unknown or revoked API key")
        if wanted is not None and wanted != grant.tenant_id:
            return Deny(principal_id=grant.api_key_id, reason="API key of another tenant")
        if grant.suspended:
            return suspended(grant.api_key_id)
        context = {
            "auth": "api_key",
            "user_id": grant.api_key_id,
            "api_key_id": grant.api_key_id,
            "tenant_id": grant.tenant_id,
            "role": grant.role.value,
            "plan": grant.plan,
            **_features(grant.features),
        }
        key = self._usage(grant.tenant_id, grant.usage_tier)
        return Allow(principal_id=grant.api_key_id, context=context, usage_key=key)

    def _jwt(self, token: str, wanted: str | None) -> Decision:
        claims = self._verifier.verify(token)
        user_id = user_id_for(self._verifier.issuer, claims.subject)
        context = {"auth": "jwt", "user_id": user_id, "subject": claims.subject}
        if claims.email:
            context["email"] = claims.email
        if claims.valid_until is not None:
            # API Gateway caches this answer for its own TTL: the API refuses the token past its expiry.
            context[VALID_UNTIL] = str(claims.valid_until)
        if wanted is None:
            if self._operators_group and self._operators_group in claims.groups:
                context[OPERATOR_FLAG] = "true"
            return Allow(principal_id=user_id, context=context)
        if not ids.is_id(TENANT_PREFIX, wanted):
            return Deny(principal_id=user_id, reason="malformed tenant id")
        grant = self._store.member_grant(wanted, user_id)
        if grant is None:
            return Deny(principal_id=user_id, reason="not a member of the tenant")
        if grant.suspended:
            return suspended(user_id)
        context.update(tenant_id=wanted, role=grant.role.value, plan=grant.plan, **_features(grant.features))
        key = self._usage(wanted, grant.usage_tier)
        return Allow(principal_id=user_id, context=context, usage_key=key)
