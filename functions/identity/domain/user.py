"""Users: who the identity provider says is calling, and the id Keel knows them by.

A user's id is *derived* from the token, not assigned: ``usr_`` followed by the first 128 bits of
SHA-256(issuer, subject), written as a ULID (26 Crockford base-32 characters). Why:

- the authorizer needs no lookup to know the user id, so a JWT + ``X-Tenant-Id`` check is one
  ``BatchGetItem`` on the tenant's own partition (the member item and the tenant's plan), and a
  JWT without a tenant costs no DynamoDB request at all;
- there is no "first sight" to race on: two first requests of a new user cannot mint two ids, and
  nothing has to be written before a user may call ``GET /v1/me`` or ``POST /v1/tenants``;
- the id reveals neither the issuer nor the subject, and the same subject at another issuer is
  another user.

The price: the id's time part is not a creation time (profiles keep ``updated_at``), and moving
users to another identity provider needs a subject -> user mapping item (``SUBJECT#...``), which
this function would then consult first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.identity.domain.errors import PersonRequired, VerifiedEmailRequired
from keel import ids
from keel.tenancy import Caller
from keel.text import is_email, normalize_email

USER_PREFIX = "usr"


def user_id_for(issuer: str, subject: str) -> str:
    """The stable user id of ``subject`` at ``issuer`` (see the module docstring)."""
    from ulid import ULID  # noqa: PLC0415 - python-ulid costs the authorizer's cold start; first use pays

    if not issuer or not subject:
        raise ValueError("an issuer and a subject are required")
    digest = hashlib.sha256(f"{issuer}\x00{subject}".encode()).digest()
    return f"{USER_PREFIX}_{ULID.from_bytes(digest[:16])}"


@dataclass(frozen=True)
class Person:
    """A signed-in human (not an API key). ``email`` is set only when the IdP says it is verified."""

    user_id: str
    email: str | None = None
    subject: str | None = None

    @classmethod
    def from_authorizer(cls, authorizer: Mapping[str, Any] | None) -> Person:
        """The person behind the authorizer context; API keys are refused (403)."""
        caller = Caller.from_authorizer(authorizer)
        if not ids.is_id(USER_PREFIX, caller.user_id):
            raise PersonRequired("this action needs a signed-in user, not an API key")
        subject = (authorizer or {}).get("subject")
        return cls(user_id=caller.user_id, email=caller.email, subject=str(subject) if subject else None)

    def verified_email(self) -> str:
        """The person's verified email in its one normalized form (``keel.text.normalize_email``), or a
        403 saying that one is needed. An address mail cannot go to (not ASCII, not an address) is none."""
        if not self.email:
            raise VerifiedEmailRequired("this action needs a token carrying a verified email (an ID token)")
        email = normalize_email(self.email)
        if not is_email(email):
            raise VerifiedEmailRequired("the verified email of this token is not an address Keel can use")
        return email


@dataclass(frozen=True)
class UserProfile:
    """What identity keeps about a user: the IdP subject behind the id, and the last verified email."""

    user_id: str
    email: str
    issuer: str
    subject: str | None
    updated_at: datetime
