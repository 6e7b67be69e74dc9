"""Unsubscribe links: signed, expiring, and good for one category of one member's email only.

A token is ``<base64url JSON {t, u, c, e}>.<base64url HMAC-SHA256(key, that JSON part)>``: tenant,
user, category and expiry (epoch seconds). Whoever holds the link switches that one category off
without signing in (RFC 8058 one-click); a forged, altered or expired token opens nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from functions.notifications.domain.errors import InvalidUnsubscribeLink
from functions.notifications.domain.messages import Category

#: How long a link works: long enough for an email read weeks later, short enough that old mail goes stale.
LINK_LIFETIME = timedelta(days=60)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Unsubscription:
    tenant_id: str
    user_id: str
    category: Category


class UnsubscribeLinks:
    """Makes and reads unsubscribe tokens with one key (a secret of this context)."""

    def __init__(self, key: bytes, url_template: str) -> None:
        if len(key) < 32:
            raise ValueError("the unsubscribe key must be at least 32 bytes")
        self._key = key
        self._template = url_template

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def token(self, what: Unsubscription, *, at: datetime) -> str:
        expires = int((at + LINK_LIFETIME).timestamp())
        claims = {"t": what.tenant_id, "u": what.user_id, "c": what.category.value, "e": expires}
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(body)}"

    def url(self, what: Unsubscription, *, at: datetime) -> str:
        return self._template.replace("{token}", self.token(what, at=at))

    def read(self, token: str, *, at: datetime) -> Unsubscription:
        """What ``token`` switches off; ``InvalidUnsubscribeLink`` if forged, damaged or expired."""
        body, _, mac = token.partition(".")
        if not body or not mac or not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            raise InvalidUnsubscribeLink("this unsubscribe link is not valid")
        try:
            claims = json.loads(_unb64(body))
            what = Unsubscription(str(claims["t"]), str(claims["u"]), Category(claims["c"]))
            expires = int(claims["e"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise InvalidUnsubscribeLink("this unsubscribe link is not valid") from None
        if at.timestamp() > expires:
            raise InvalidUnsubscribeLink("this unsubscribe link has expired: use the one in a newer email")
        return what
