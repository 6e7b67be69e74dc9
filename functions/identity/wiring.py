"""Builds identity's services from settings, once per container (nothing is read or opened at import).

Each builder imports what it builds: a handler's cold start pays only for the services its first
request uses (the authorizer never loads the tenant service, the consumer never loads the API's).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from keel import settings

if TYPE_CHECKING:
    from functions.identity.adapters.api_keys import ApiKeyRepository
    from functions.identity.adapters.authorizer_cache import StageAuthorizerCache
    from functions.identity.adapters.expiry import ExpiryRepository
    from functions.identity.adapters.invitation_links import SignedInvitationLinks
    from functions.identity.adapters.invitations import InvitationRepository
    from functions.identity.adapters.jwt_verifier import JwtVerifier
    from functions.identity.adapters.members import MemberRepository
    from functions.identity.adapters.tenants import TenantRepository
    from functions.identity.adapters.usage_plans import ApiGatewayUsagePlans
    from functions.identity.domain.access import AccessService
    from functions.identity.domain.api_keys import ApiKeyService
    from functions.identity.domain.entitlements import EntitlementsService
    from functions.identity.domain.invitations import InvitationService
    from functions.identity.domain.members import MemberService
    from functions.identity.domain.operators import OperatorService
    from functions.identity.domain.tenants import TenantService
    from functions.identity.domain.usage import UsageKeysService
    from functions.identity.settings import IdentitySettings
    from keel.store import Transaction

# ruff: noqa: PLC0415 - the imports inside the builders below are the point of this module


def config() -> IdentitySettings:
    from functions.identity.settings import IdentitySettings

    return settings.load(IdentitySettings)


def table_name() -> str:
    return config().table


# Each builder is cached per settings object, so when the kernel forgets its settings (tests, the
# local runtime) the services are rebuilt from the new ones.


@cache
def _tenants(cfg: IdentitySettings) -> TenantRepository:
    from functions.identity.adapters.tenants import TenantRepository

    return TenantRepository(cfg.table)


@cache
def _members(cfg: IdentitySettings) -> MemberRepository:
    from functions.identity.adapters.members import MemberRepository

    return MemberRepository(cfg.table)


@cache
def _invitations(cfg: IdentitySettings) -> InvitationRepository:
    from functions.identity.adapters.invitations import InvitationRepository

    return InvitationRepository(cfg.table)


@cache
def _expiry(cfg: IdentitySettings) -> ExpiryRepository:
    from functions.identity.adapters.expiry import ExpiryRepository

    return ExpiryRepository(cfg.table)


@cache
def _api_keys(cfg: IdentitySettings) -> ApiKeyRepository:
    from functions.identity.adapters.api_keys import ApiKeyRepository

    return ApiKeyRepository(cfg.table)


@cache
def _verifier(cfg: IdentitySettings) -> JwtVerifier:
    # PyJWT and cryptography are the authorizer's cold start, not every API call's.
    from functions.identity.adapters.jwt_verifier import JwtVerifier

    return JwtVerifier(
        issuer=cfg.oidc_issuer,
        audiences=cfg.audiences,
        jwks_url=cfg.jwks_endpoint,
        token_uses=cfg.token_uses,
        groups_claim=cfg.groups_claim,
        leeway_seconds=cfg.clock_skew_seconds,
        jwks_cache_seconds=cfg.jwks_cache_seconds,
    )


def access() -> AccessService:
    return _access(config())


@cache
def _access(cfg: IdentitySettings) -> AccessService:
    from functions.identity.adapters.access import AccessReads
    from functions.identity.domain.access import AccessService

    return AccessService(
        verifier=_verifier(cfg),
        store=AccessReads(cfg.table),
        operators_group=cfg.operators_group,
        shared_usage_key=cfg.shared_usage_key or None,
    )


@cache
def _usage_plans(cfg: IdentitySettings) -> ApiGatewayUsagePlans:
    # One per container: in the cloud the plans' ids are read from SSM on first use, then kept.
    from functions.identity.adapters.usage_plans import ApiGatewayUsagePlans

    return ApiGatewayUsagePlans(plans=cfg.usage_plans, parameter=cfg.usage_plans_parameter)


def tenants() -> TenantService:
    from functions.identity.domain.tenants import TenantService

    cfg = config()
    return TenantService(
        _tenants(cfg),
        _members(cfg),
        issuer=cfg.oidc_issuer,
        tenants_per_user=cfg.max_tenants_per_user,
    )


def members() -> MemberService:
    from functions.identity.domain.members import MemberService

    return MemberService(_members(config()))


@cache
def _links(cfg: IdentitySettings) -> SignedInvitationLinks:
    # The key is read on the first accept, not when inviting (which no longer needs it) or at import.
    from functions.identity.adapters.invitation_links import SignedInvitationLinks, read_secret

    def key() -> str:
        return read_secret(cfg.invitation_key_arn) if cfg.invitation_key_arn else cfg.invitation_key.get_secret_value()

    return SignedInvitationLinks(key)


def invitations() -> InvitationService:
    from functions.identity.domain.invitations import InvitationService

    cfg = config()
    return InvitationService(
        _invitations(cfg),
        _tenants(cfg),
        _expiry(cfg),
        _links(cfg),
        issuer=cfg.oidc_issuer,
        accept_url_template=cfg.invite_url_template,
    )


def api_keys() -> ApiKeyService:
    from functions.identity.domain.api_keys import ApiKeyService

    cfg = config()
    return ApiKeyService(_api_keys(cfg), _tenants(cfg))


@cache
def _authorizer_cache(cfg: IdentitySettings) -> StageAuthorizerCache:
    # One per container: in the cloud the API's id is read from SSM on the first flush, then kept.
    from functions.identity.adapters.authorizer_cache import StageAuthorizerCache

    return StageAuthorizerCache(api_id=cfg.api_id, parameter=cfg.api_id_parameter, stage=settings.platform().stage)


def operators() -> OperatorService:
    from functions.identity.domain.operators import OperatorService

    cfg = config()
    return OperatorService(_tenants(cfg), _authorizer_cache(cfg))


def entitlements(tx: Transaction) -> EntitlementsService:
    """The entitlements service writing into ``tx``, the consumer's transaction (with its inbox marker)."""
    from functions.identity.adapters.entitlements import EntitlementsWriter
    from functions.identity.domain.entitlements import EntitlementsService

    cfg = config()
    return EntitlementsService(EntitlementsWriter(cfg.table, tx), _usage_plans(cfg), _authorizer_cache(cfg))


def usage_keys() -> UsageKeysService:
    from functions.identity.adapters.usage_tiers import UsageTierRecords
    from functions.identity.domain.usage import UsageKeysService

    cfg = config()
    return UsageKeysService(_tenants(cfg), UsageTierRecords(cfg.table), _usage_plans(cfg))
