"""Identity's settings (``KEEL_IDENTITY_*``), imported by ``wiring`` on first use."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.identity.domain.tenant import DEFAULT_TENANTS_PER_USER
from keel.tenancy import DEFAULT_OPERATORS_GROUP


class IdentitySettings(BaseSettings):
    """``KEEL_IDENTITY_*``. The OIDC values name the identity provider the authorizer trusts."""

    model_config = SettingsConfigDict(env_prefix="KEEL_IDENTITY_", extra="ignore", frozen=True)

    #: Its table, as the topology names it for the stage (set by CDK and the local runtime).
    table: str
    #: ``iss`` of accepted tokens, e.g. ``https://cognito-idp.<region>.amazonaws.com/<pool id>``.
    oidc_issuer: str = ""
    #: Accepted audiences (the app client ids), comma-separated; matched against ``aud`` or ``client_id``.
    oidc_audience: str = ""
    #: Where the issuer publishes its keys; empty means ``<issuer>/.well-known/jwks.json``.
    jwks_url: str = ""
    #: Accepted ``token_use`` values, comma-separated (Cognito: ``id``, ``access``); empty: not checked.
    token_use: str = "id,access"  # noqa: S105 - claim values, not a secret
    clock_skew_seconds: int = 60
    jwks_cache_seconds: int = 3600
    #: The link an invitation email carries; ``{token}`` is where the mailer puts the invitation's token.
    invite_url_template: str = "https://app.keel.local/invitations/accept?token={token}"
    #: The key invitation links are signed with (``keel.contracts.identity``): a Secrets Manager secret
    #: in the cloud (its ARN here), or the key itself (local runtime, tests). At least 32 characters.
    invitation_key_arn: str = ""
    invitation_key: SecretStr = SecretStr("")
    #: ``METHOD /path`` of the routes served by the token-only authorizer (the topology's
    #: ``tenantless_routes``, comma-separated): there the authorizer ignores ``X-Tenant-Id``.
    tenantless_routes: str = ""
    #: Tenants one user may create (403 ``tenant_limit`` past it); an operator lifts it for one user
    #: by setting ``limit`` on that user's ``USER#<id>`` / ``TENANTS`` item.
    max_tenants_per_user: int = Field(default=DEFAULT_TENANTS_PER_USER, ge=0)
    #: The identity provider group whose members are the deployment's operators (``/v1/admin``).
    operators_group: str = Field(default=DEFAULT_OPERATORS_GROUP, min_length=1)
    #: The token claim that lists the user's groups: ``cognito:groups`` for Cognito, ``groups`` for many
    #: other OIDC providers (a list of names, or one space- or comma-separated string).
    groups_claim: str = Field(default="cognito:groups", min_length=1)
    #: The REST API whose cache of authorizer answers suspending a tenant flushes: the SSM parameter
    #: holding its id in the cloud (the API stack writes it), or the id itself (local runtime, tests).
    #: Neither: nothing to flush (cached answers expire within the cache's TTL).
    api_id_parameter: str = ""
    api_id: str = ""
    #: API Gateway's usage plans by rate tier, where each tenant's key is kept: the SSM parameter holding
    #: ``{tier: usage plan id}`` in the cloud (the API stack writes it), or that JSON itself (tests).
    #: Neither: no usage plans to keep keys in.
    usage_plans_parameter: str = ""
    usage_plans: str = ""
    #: The stage's shared API Gateway key (in the shared tier's usage plan): what a tenant with no key of
    #: its own yet counts against. Empty: the authorizer names none for it.
    shared_usage_key: str = ""

    @property
    def audiences(self) -> list[str]:
        return [a.strip() for a in self.oidc_audience.split(",") if a.strip()]

    @property
    def token_uses(self) -> list[str]:
        return [u.strip() for u in self.token_use.split(",") if u.strip()]

    @property
    def tenantless(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.tenantless_routes.split(",") if r.strip())

    @property
    def jwks_endpoint(self) -> str:
        return self.jwks_url or f"{self.oidc_issuer.rstrip('/')}/.well-known/jwks.json"
