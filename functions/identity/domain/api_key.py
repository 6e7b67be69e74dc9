"""API keys: ``keel_`` + 256 random bits, shown once, stored as a SHA-256 with a visible prefix.

A plain (unsalted, fast) hash is enough: the secret is random and long, so there is nothing to
guess, and the authorizer must find the key by its hash in one ``GetItem``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from functions.identity.domain.limits import Below
from keel.tenancy import Role

SECRET_PREFIX = "keel_"  # noqa: S105 - a marker, not a secret
VISIBLE_CHARACTERS = 8
SECRET_BYTES = 32
MAX_ACTIVE_API_KEYS = 50
#: A tenant holds at most ``MAX_ACTIVE_API_KEYS`` active keys (a counter on its seat ledger).
ROOM_FOR_API_KEY = Below("api_keys", default=MAX_ACTIVE_API_KEYS)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def visible_prefix(secret: str) -> str:
    """What lists show so people can tell keys apart: ``keel_`` and the next 8 characters."""
    return secret[: len(SECRET_PREFIX) + VISIBLE_CHARACTERS]


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(SECRET_PREFIX)


@dataclass(frozen=True)
class ApiKey:
    id: str
    tenant_id: str
    name: str
    prefix: str
    role: Role
    created_by: str
    created_at: datetime
    secret_hash: str
    revoked: bool = False
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    version: int = 1

    @classmethod
    def issue(
        cls, *, api_key_id: str, tenant_id: str, name: str, role: Role, created_by: str, now: datetime
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (returned to the caller once, never stored)."""
        secret = new_secret()
        key = cls(
            id=api_key_id,
            tenant_id=tenant_id,
            name=name,
            prefix=visible_prefix(secret),
            role=role,
            created_by=created_by,
            created_at=now,
            secret_hash=hash_secret(secret),
        )
        return key, secret

    def revoke(self, *, by: str, now: datetime) -> ApiKey:
        return replace(self, revoked=True, revoked_at=now, revoked_by=by)


@dataclass(frozen=True)
class ApiKeyGrant:
    """What the authorizer learns from a key's hash: its tenant, its role, the tenant's plan, and
    whether an operator suspended the tenant."""

    api_key_id: str
    tenant_id: str
    role: Role
    plan: str
    suspended: bool = False
    #: The tier of the tenant's own API Gateway key (``Seats.usage_tier``); ``None``: none yet.
    usage_tier: str | None = None
    #: The plan's features that are on (``Seats.features``); ``None``: not known yet.
    features: frozenset[str] | None = None
