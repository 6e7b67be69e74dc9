"""Builds identity's services from settings, once per container (nothing is read or opened at import)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

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
    from functions.identity.settings import IdentitySettings


def config() -> IdentitySettings:
    from functions.identity.settings import IdentitySettings  # noqa: PLC0415 - first use only

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
