"""Cross-origin calls from browsers: which request headers a page may send, which response headers it
may read, and the headers an answer to an allowed origin carries.

API Gateway answers the preflight (``OPTIONS``) itself and adds these headers to its own refusals; the
API functions add them to their answers (``keel.http``). The origins are a deployment's setting
(``KEEL_CORS_ORIGINS``); no origin is allowed by default. Keel authenticates with a bearer token,
never a cookie, so credentials are never allowed cross-origin.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

#: What a page may send: the token, the tenant it acts in, and Keel's request conventions.
ALLOW_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Correlation-Id", "X-Tenant-Id")
#: What a page may read beyond the CORS-safelisted response headers.
EXPOSE_HEADERS = ("Retry-After", "X-Correlation-Id", "X-Request-Id")
ALLOW_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: How long a browser may reuse a preflight answer.
MAX_AGE_SECONDS = 600


def origins(setting: str) -> frozenset[str]:
    """The allowed origins in a comma-separated setting (blanks ignored)."""
    return frozenset(o.strip() for o in setting.split(",") if o.strip())


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A request header by name, whatever its case."""
    wanted = name.lower()
    return next((v for k, v in (headers or {}).items() if k.lower() == wanted), None)


def response_headers(origin: str | None, allowed: Collection[str]) -> dict[str, str]:
    """What an answer to ``origin`` carries: the CORS headers if it is allowed, else only ``Vary``
    (the answer depends on the origin, so caches must not share it across origins). Nothing at all
    when no origin is allowed."""
    if not allowed:
        return {}
    if origin is None or origin not in allowed:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": ", ".join(EXPOSE_HEADERS),
        "Vary": "Origin",
    }


def preflight_headers(origin: str) -> dict[str, str]:
    """The answer to an allowed origin's preflight: what it may send, how, and for how long."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ", ".join(ALLOW_METHODS),
        "Access-Control-Allow-Headers": ", ".join(ALLOW_HEADERS),
        "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
        "Vary": "Origin",
    }
