"""Verifies OIDC JWTs with PyJWT against the issuer's JWKS (fetched over HTTPS, cached per container).

What a token must be to pass: signed RS256 (``none``, HS256 and every other algorithm are refused
before any key is looked up) by a key of the issuer's JWKS, named by ``kid``; ``iss`` the configured
issuer; ``aud`` one of the configured audiences, or, for tokens without ``aud`` (Cognito access
tokens), ``client_id`` one of them; ``exp`` in the future and ``nbf`` / ``iat`` not in the future,
each with the configured leeway (60 s); ``token_use`` one of those accepted, when configured.

Groups: the claim named ``groups_claim`` (Cognito's ``cognito:groups`` by default), a list of names
or one space- or comma-separated string, becomes ``Claims.groups`` (anything else: no groups).

JWKS caching: the key set is kept for ``jwks_cache_seconds``; a token naming an unknown ``kid``
forces one refresh at most every ``JWKS_REFRESH_COOLDOWN_SECONDS``, so junk tokens cannot make us
hammer the issuer, while a key rotation is picked up within that cooldown.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import jwt

from functions.identity.domain.errors import IdentityProviderUnavailable, InvalidCredentials
from functions.identity.domain.ports import Claims
from keel.text import normalize_email

ALGORITHM = "RS256"
JWKS_TIMEOUT_SECONDS = 3.0
JWKS_REFRESH_COOLDOWN_SECONDS = 30.0
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub"]
#: More groups than any sane identity provider puts in a token are ignored past this many.
MAX_GROUPS = 100


def _is_true(value: Any) -> bool:
    # Cognito ID tokens carry a JSON boolean; some IdPs (and moto) send the string "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")


def groups_of(value: Any) -> frozenset[str]:
    """The group names of a groups claim: a JSON list of strings, or one space- or comma-separated string."""
    if isinstance(value, str):
        names: list[Any] = value.replace(",", " ").split()
    elif isinstance(value, list):
        names = value
    else:
        return frozenset()
    return frozenset(name for name in names[:MAX_GROUPS] if isinstance(name, str) and name)


class JwtVerifier:
    """Implements the domain's ``TokenVerifier``."""

    def __init__(
        self,
        *,
        issuer: str,
        audiences: Collection[str],
        jwks_url: str,
        token_uses: Collection[str] = (),
        groups_claim: str = "cognito:groups",
        leeway_seconds: int = 60,
        jwks_cache_seconds: int = 3600,
        jwks_refresh_cooldown_seconds: float = JWKS_REFRESH_COOLDOWN_SECONDS,
        jwks_client: jwt.PyJWKClient | None = None,
    ) -> None:
        if not issuer or not audiences or not jwks_url:
            raise ValueError("an issuer, at least one audience and a JWKS URL are required")
        self._issuer = issuer
        self._audiences = frozenset(audiences)
        self._token_uses = frozenset(token_uses)
        self._groups_claim = groups_claim
        self._leeway = leeway_seconds
        self._jwks = jwks_client or jwt.PyJWKClient(
            jwks_url,
            cache_jwk_set=True,
            lifespan=jwks_cache_seconds,
            timeout=JWKS_TIMEOUT_SECONDS,
            cooldown_duration=jwks_refresh_cooldown_seconds,
        )

    @property
    def issuer(self) -> str:
        return self._issuer

    def verify(self, token: str) -> Claims:
        """The claims of a valid token; ``InvalidCredentials`` otherwise (the reason is for logs)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidCredentials("not a JWT") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidCredentials(f"algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidCredentials("no key id")
        key = self._signing_key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": _REQUIRED_CLAIMS, "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidCredentials(type(exc).__name__) from None
        self._check_audience(claims)
        token_use = claims.get("token_use")
        if self._token_uses and token_use not in self._token_uses:
            raise InvalidCredentials(f"token_use {token_use!r} is not accepted")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidCredentials("no subject")
        email = claims.get("email")
        verified = isinstance(email, str) and bool(email) and _is_true(claims.get("email_verified"))
        return Claims(
            subject=subject,
            email=normalize_email(email) if verified and isinstance(email, str) else None,
            token_use=token_use if isinstance(token_use, str) else None,
            valid_until=int(claims["exp"]) + self._leeway,
            groups=groups_of(claims.get(self._groups_claim)),
        )

    def _signing_key(self, kid: str) -> Any:
        try:
            return self._jwks.get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError as exc:
            raise IdentityProviderUnavailable(f"the issuer's JWKS could not be fetched: {exc}") from exc
        except jwt.PyJWKClientError:
            raise InvalidCredentials("unknown key id") from None
        except jwt.PyJWTError:
            raise InvalidCredentials("unusable key") from None

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        # ID tokens (and most access tokens) name the client in ``aud``; Cognito access tokens in ``client_id``.
        audience = claims.get("aud")
        if audience is not None:
            named = {audience} if isinstance(audience, str) else set(audience) if isinstance(audience, list) else set()
            if not named & self._audiences:
                raise InvalidCredentials("wrong audience")
            return
        if claims.get("client_id") not in self._audiences:
            raise InvalidCredentials("wrong audience (client_id)")
