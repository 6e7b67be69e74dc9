"""Slugs: the URL-safe name of a tenant, unique across tenants, never one the product keeps for itself."""

from __future__ import annotations

import re
import secrets
import unicodedata

SLUG_MAX_LENGTH = 48
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SUFFIX_ALPHABET = "abcdefghjkmnpqrstvwxyz23456789"

#: Slugs a tenant never gets: they name (or will name) the product's own pages, hosts and mailboxes.
RESERVED_SLUGS = frozenset(
    {
        "about", "abuse", "account", "accounts", "admin", "administrator", "api", "api-keys", "app", "apps",
        "assets", "auth", "billing", "blog", "cdn", "checkout", "console", "contact", "dashboard", "dev", "docs",
        "email", "events", "ftp", "graphql", "health", "help", "hostmaster", "identity", "imap", "info",
        "internal", "invitations", "invoices", "keel", "legal", "localhost", "login", "logout", "mail", "me",
        "members", "mx", "new", "no-reply", "noreply", "notifications", "oauth", "operator", "operators",
        "payments", "platform", "pop", "portal", "postmaster", "pricing", "privacy", "projects", "reporting",
        "root", "sales", "security", "settings", "signin", "signup", "smtp", "sso", "staging", "static",
        "status", "support", "system", "tenants", "terms", "test", "v1", "webhooks", "webmail",
        "webmaster", "www",
    }
)  # fmt: skip


def is_reserved(slug: str) -> bool:
    return slug in RESERVED_SLUGS


def slugify(name: str) -> str:
    """A URL-safe slug from a tenant name: ASCII lower case, words joined by dashes; a reserved one
    gets a short random suffix."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NOT_SLUG.sub("-", ascii_name.lower()).strip("-")[:SLUG_MAX_LENGTH].strip("-") or "tenant"
    return with_suffix(slug) if is_reserved(slug) else slug


def with_suffix(slug: str) -> str:
    """``slug`` plus a short random suffix, for when the plain slug is taken."""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
    return f"{slug[: SLUG_MAX_LENGTH - len(suffix) - 1].rstrip('-')}-{suffix}"
