"""A test identity provider: RSA keys, a JWKS endpoint on 127.0.0.1 (the real wire format, fetched by
PyJWKClient over HTTP), and tokens shaped like Cognito's (ID tokens with ``aud``, access tokens with
``client_id``), plus the forgeries the authorizer must refuse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://idp.keel.test/pool-1"
AUDIENCE = "keel-web-client"
KID = "test-key-1"


@cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """A 2048-bit key per name, made once per test run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any], *, kid: str = KID) -> str:
    """``alg: none``: a header, the claims and an empty signature."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def hs256_with_public_key(claims: dict[str, Any], *, kid: str = KID) -> str:
    """The algorithm-confusion forgery: HS256 keyed with the issuer's *public* key."""
    secret = (
        rsa_key("issuer")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = ".".join(
        [_b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()), _b64(json.dumps(claims).encode())]
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@dataclass
class LocalIdp:
    """Issues tokens the way an OIDC provider does; serves its JWKS while running."""

    url: str = ""
    jwks_fetches: int = 0
    keys: list[dict[str, Any]] = field(default_factory=lambda: [public_jwk(rsa_key("issuer"), KID)])

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/.well-known/jwks.json"

    def claims(self, subject: str, email: str | None = None, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": subject,
            "aud": AUDIENCE,
            "token_use": "id",
            "iat": now,
            "auth_time": now,
            "exp": now + 3600,
        }
        if email is not None:
            claims.update(email=email, email_verified=True)
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict[str, Any], *, key: str = "issuer", kid: str = KID) -> str:
        return jwt.encode(claims, rsa_key(key), algorithm="RS256", headers={"kid": kid})

    def id_token(self, subject: str, email: str | None = None, **overrides: Any) -> str:
        """An ID token (``aud`` = the client) for ``subject``, with a verified ``email`` if given."""
        return self.sign(self.claims(subject, email, **overrides))

    def access_token(self, subject: str, **overrides: Any) -> str:
        """A Cognito-style access token: ``client_id`` instead of ``aud``, no email."""
        claims = self.claims(subject, None, **{"token_use": "access", "client_id": AUDIENCE, **overrides})
        claims.pop("aud", None)
        return self.sign(claims)


@contextmanager
def running_idp() -> Iterator[LocalIdp]:
    """A ``LocalIdp`` whose JWKS is served over HTTP on a free port of 127.0.0.1."""
    idp = LocalIdp()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/.well-known/jwks.json":
                self.send_error(404)
                return
            idp.jwks_fetches += 1
            body = json.dumps({"keys": idp.keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    idp.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
