"""The keys of identity's table (``keel-<stage>-identity``): every item's ``pk`` / ``sk`` is built here.

Tenant partition ``pk = TENANT#<tenant id>``:

    TENANT                 the tenant: name, slug, status (and, while suspended, by whom, when, why)
    SEATS                  plan + seat limit (billing's copy), counters: members, pending, taken
                           (= members + pending), owners, api_keys; conditions on it enforce the
                           seat limit and the last owner. Next to the counters, what they count
                           that an operator's read needs: ``owner_<user id>`` (the owner's email)
                           and ``apikey_<key id>`` (the active key's secret hash)
    MEMBER#<user id>       a membership: email, role, joined_at, and ``sent_<inv id>`` for each
                           pending invitation the member sent (revoked with the member)
    EMAIL#<email>          who holds a seat under an email: a member or a pending invitation
    INVITATION#<inv id>    an invitation: email, role, status, expiry (read by its accept link's
                           token, which holds the tenant and invitation ids: one GetItem)
    APIKEY#<key id>        an API key: name, visible prefix, role, creator, revoked, secret hash
    OUTBOX#... / INBOX#... the kernel's outbox and inbox

Global lookups, written in the same transaction as their owner item:

    SLUG#<slug>            / SLUG                      -> tenant id (slugs are unique)
    USER#<user id>         / PROFILE                   the user: issuer, subject, email
    USER#<user id>         / TENANT#<tenant id>        membership index (``GET /v1/me`` is one Query)
    USER#<user id>         / TENANTS                   tenants the user created (``created``) and the
                                                       operator's ``limit`` for them, if any
    APIKEY#<sha256(secret)>/ APIKEY                    tenant, role, plan, the tenant's status when
                                                       suspended (gone once revoked)
    EXPIRES#<yyyy-mm-ddThh>/ INVITATION#<tenant>#<id>  pending invitations by hour of expiry
    JOB#expire-invitations / CURSOR                    the expiry sweep's progress

The operators' directory of tenants, written in the same transaction as the tenant (no Scan):

    TENANTS#ALL            / TENANT#<tenant id>        every tenant: name, slug, status, created_at
    TENANTS#<status>       / TENANT#<tenant id>        the tenants in that status (active, suspended)

Tenant ids are ULIDs, so a partition read backwards lists the newest tenants first, one Query a
page. Hot partitions: every sign-up writes to ``TENANTS#ALL`` and ``TENANTS#active``, one small
item each. A partition takes 1,000 writes a second, far beyond any sign-up rate this serves; a
deployment that ever nears it shards the key (``TENANTS#ALL#<n>``) and merges pages on read.
"""

from __future__ import annotations

from datetime import datetime

from keel.store import entity_sk, tenant_partitions, tenant_pk

Key = dict[str, str]

TENANT_SK = "TENANT"
SEATS_SK = "SEATS"
MEMBER = "MEMBER"
INVITATION = "INVITATION"
API_KEY = "APIKEY"
USER_TENANT_PREFIX = "TENANT#"
EXPIRING_PREFIX = "INVITATION#"
DIRECTORY_PREFIX = "TENANT#"
#: The directory partition listing every tenant, whatever its status.
DIRECTORY_ALL = "ALL"
#: The global partitions' prefixes.
SLUG, USER, API_KEY_LOOKUP, EXPIRES, DIRECTORY, JOB = "SLUG#", "USER#", "APIKEY#", "EXPIRES#", "TENANTS#", "JOB#"

#: What a tenant's credentials may touch (``keel.isolation``): its own partitions, and the global lookups
#: that its routes and its entitlements consumer write in the same transaction as the tenant's items:
#: a renamed slug (``SLUG#``), a removed member's membership index (``USER#``), an API key's lookup
#: (``APIKEY#``, its plan kept current by the consumer), an invitation's expiry hour (``EXPIRES#``) and
#: the operators' directory row of a renamed tenant (``TENANTS#``). Never the expiry sweep's ``JOB#``.
LEADING_KEYS = (*tenant_partitions(), *(f"{prefix}*" for prefix in (SLUG, USER, API_KEY_LOOKUP, EXPIRES, DIRECTORY)))


def key(pk: str, sk: str) -> Key:
    return {"pk": pk, "sk": sk}


def tenant_key(tenant_id: str) -> Key:
    return key(tenant_pk(tenant_id), TENANT_SK)


def seats_key(tenant_id: str) -> Key:
    return key(tenant_pk(tenant_id), SEATS_SK)


def member_key(tenant_id: str, user_id: str) -> Key:
    return key(tenant_pk(tenant_id), entity_sk(MEMBER, user_id))


def email_key(tenant_id: str, email: str) -> Key:
    return key(tenant_pk(tenant_id), f"EMAIL#{email}")


def invitation_key(tenant_id: str, invitation_id: str) -> Key:
    return key(tenant_pk(tenant_id), entity_sk(INVITATION, invitation_id))


def api_key_key(tenant_id: str, api_key_id: str) -> Key:
    return key(tenant_pk(tenant_id), entity_sk(API_KEY, api_key_id))


def slug_key(slug: str) -> Key:
    return key(f"{SLUG}{slug}", "SLUG")


def user_pk(user_id: str) -> str:
    return f"{USER}{user_id}"


def profile_key(user_id: str) -> Key:
    return key(user_pk(user_id), "PROFILE")


def user_membership_key(user_id: str, tenant_id: str) -> Key:
    return key(user_pk(user_id), f"{USER_TENANT_PREFIX}{tenant_id}")


def tenant_allowance_key(user_id: str) -> Key:
    return key(user_pk(user_id), "TENANTS")


def api_key_lookup_key(secret_hash: str) -> Key:
    return key(f"{API_KEY_LOOKUP}{secret_hash}", "APIKEY")


def expiry_pk(hour: datetime) -> str:
    return f"{EXPIRES}{hour.strftime('%Y-%m-%dT%H')}"


def expiry_key(tenant_id: str, invitation_id: str, expires_at: datetime) -> Key:
    return key(expiry_pk(expires_at), f"{EXPIRING_PREFIX}{tenant_id}#{invitation_id}")


def directory_pk(status: str | None) -> str:
    """The directory partition of the tenants in ``status`` (``None``: every tenant)."""
    return f"{DIRECTORY}{status or DIRECTORY_ALL}"


def directory_key(status: str | None, tenant_id: str) -> Key:
    return key(directory_pk(status), f"{DIRECTORY_PREFIX}{tenant_id}")


def sweep_key() -> Key:
    return key(f"{JOB}expire-invitations", "CURSOR")
