"""Builds identity's services from settings, once per container (nothing is read or opened at import)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.identity.adapters.store import IdentityTable
from functions.identity.domain.access import AccessService
from functions.identity.domain.api_keys import ApiKeyService
from functions.identity.domain.entitlements import EntitlementsService
from functions.identity.domain.invitations import InvitationService
from functions.identity.domain.members import MemberService
from functions.identity.domain.tenants import TenantService
from keel import settings

if TYPE_CHECKING:
    from functions.identity.adapters.jwt_verifier import JwtVerifier


class IdentitySettings(BaseSettings):
    """``KEEL_IDENTITY_*``. The OIDC values name the identity provider the authorizer trusts."""

    model_config = SettingsConfigDict(env_prefix="KEEL_IDENTITY_", extra="ignore", frozen=True)

    table: str = "keel-identity"
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
    #: The link an invitation email carries; ``{token}`` becomes the one-time token.
    invite_url_template: str = "https://app.keel.local/invitations/accept?token={token}"

    @property
    def audiences(self) -> list[str]:
        return [a.strip() for a in self.oidc_audience.split(",") if a.strip()]

    @property
    def token_uses(self) -> list[str]:
        return [u.strip() for u in self.token_use.split(",") if u.strip()]

    @property
    def jwks_endpoint(self) -> str:
        return self.jwks_url or f"{self.oidc_issuer.rstrip('/')}/.well-known/jwks.json"


def config() -> IdentitySettings:
    return settings.load(IdentitySettings)


def table_name() -> str:
    return config().table


# Each builder is cached per settings object, so when the kernel forgets its settings (tests, the
# local runtime) the services are rebuilt from the new ones.


@cache
def _store(cfg: IdentitySettings) -> IdentityTable:
    return IdentityTable(cfg.table)


@cache
def _verifier(cfg: IdentitySettings) -> JwtVerifier:
    # Imported here: PyJWT and cryptography are the authorizer's cold start, not every API call's.
    from functions.identity.adapters.jwt_verifier import JwtVerifier  # noqa: PLC0415

    return JwtVerifier(
        issuer=cfg.oidc_issuer,
        audiences=cfg.audiences,
        jwks_url=cfg.jwks_endpoint,
        token_uses=cfg.token_uses,
        leeway_seconds=cfg.clock_skew_seconds,
        jwks_cache_seconds=cfg.jwks_cache_seconds,
    )


def store() -> IdentityTable:
    return _store(config())


def access() -> AccessService:
    cfg = config()
    return _access(cfg)


@cache
def _access(cfg: IdentitySettings) -> AccessService:
    return AccessService(verifier=_verifier(cfg), store=_store(cfg))


def tenants() -> TenantService:
    cfg = config()
    return TenantService(_store(cfg), issuer=cfg.oidc_issuer)


def members() -> MemberService:
    return MemberService(store())


def invitations() -> InvitationService:
    cfg = config()
    return InvitationService(_store(cfg), issuer=cfg.oidc_issuer, accept_url_template=cfg.invite_url_template)


def api_keys() -> ApiKeyService:
    return ApiKeyService(store())


def entitlements() -> EntitlementsService:
    return EntitlementsService(store())
