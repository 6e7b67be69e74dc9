"""Each tenant's own request budget: the API Gateway API key its requests are counted against.

A tenant has one key per rate tier it has been on (``keel.rate_tiers``), each in that tier's usage
plan for good: changing plans makes the key of the new tier before identity's copy of the plan
changes, and the authorizer names the key of the plan it reads, so no key is ever moved between plans
and no request meets a key that is not in a plan. The key's value is derived from the tenant and the
tier, so the authorizer names it (``usageIdentifierKey``) without reading anything more; callers never
send it (the API takes keys from the authorizer only), so knowing it grants nothing.
"""

from __future__ import annotations

#: API Gateway wants key values of 20 characters or more; a tenant id alone has 30 (letters and digits kept).
_KEY_PREFIX = "keel"


def usage_key_name(tenant_id: str, tier: str) -> str:
    """The name of ``tenant_id``'s key for ``tier`` (how an operator finds it in API Gateway)."""
    return f"{tenant_id}.{tier}"


def usage_key(tenant_id: str, tier: str) -> str:
    """The value of ``tenant_id``'s API Gateway key for ``tier``."""
    return _KEY_PREFIX + "".join(c for c in f"{tenant_id}{tier}" if c.isalnum())
