"""Where each read model lives in reporting's table: every key of one model version starts ``V<n>#``,
so a rebuild writes a version of its own beside the one being read.

Per tenant:

    V<n>#TENANT#<id>            SUMMARY                    name, status, events, last activity, limits,
                                                           subscription facts
    V<n>#TENANT#<id>            ENTITY#<kind>#<id>         a member, invitation, API key or project: its facts
    V<n>#TENANT#<id>#ACTIVITY   AT#<occurred at>#<evt id>  an activity entry (it exists: the event is applied)
    V<n>#TENANT#<id>#USAGE      DAY#<YYYY-MM-DD>           the day's change of each level, tasks created, completed
    V<n>#TENANT#<id>#USAGE      LEVEL                      the running total of each level, the current limits

For operators:

    V<n>#PLATFORM#REVENUE        MONTH#<YYYY-MM>#<currency>       MRR movements, customers, refunds, credit notes
    V<n>#PLATFORM#SUBSCRIPTIONS  PLAN#<plan>#<interval>#<status>  a count (and TRIALS: trial outcomes)
    V<n>#TENANTS#BY_MRR          R#<MRR, 15 digits>#<tenant id>   a tenant's row, ranked by MRR
    V<n>#TENANTS#BY_ACTIVITY     R#<events, 12 digits>#<tenant>   the same row, ranked by events

And ``MODEL`` / ``POINTER``: the version reads use, and the one a rebuild is writing.
"""

from __future__ import annotations

from keel.store import tenant_partitions, tenant_pk

SUMMARY, LEVEL, TRIALS = "SUMMARY", "LEVEL", "TRIALS"
MODEL = "MODEL"
POINTER = {"pk": MODEL, "sk": "POINTER"}
#: Any model version's prefix, as a ``dynamodb:LeadingKeys`` pattern.
ANY_VERSION = "V*#"
PLATFORM, TENANTS = "PLATFORM#", "TENANTS#"
RANKINGS = {"mrr": "BY_MRR", "activity": "BY_ACTIVITY"}
#: The sort-key prefix of a ranked row (a page of a ranking is a Query on it, highest first).
RANK = "R#"


#: What a tenant's credentials may touch (``keel.isolation``): the tenant's read models in every version
#: (a rebuild writes the next beside the current), the pointer to the version reads use, and the platform
#: models each tenant's events move: revenue and subscriptions (``PLATFORM#``) and the tenant rankings
#: (``TENANTS#``), which hold a row per tenant.
LEADING_KEYS = (*tenant_partitions(ANY_VERSION), MODEL, f"{ANY_VERSION}{PLATFORM}*", f"{ANY_VERSION}{TENANTS}*")


def version_prefix(version: int) -> str:
    return f"V{version}#"


def tenant(version: int, tenant_id: str, collection: str | None = None) -> str:
    return version_prefix(version) + tenant_pk(tenant_id, collection)


def summary(version: int, tenant_id: str) -> dict[str, str]:
    return {"pk": tenant(version, tenant_id), "sk": SUMMARY}


def entity(version: int, tenant_id: str, kind: str, entity_id: str) -> dict[str, str]:
    return {"pk": tenant(version, tenant_id), "sk": f"ENTITY#{kind}#{entity_id}"}


def activity_pk(version: int, tenant_id: str) -> str:
    return tenant(version, tenant_id, "ACTIVITY")


def activity(version: int, tenant_id: str, occurred_at: str, event_id: str) -> dict[str, str]:
    return {"pk": activity_pk(version, tenant_id), "sk": f"AT#{occurred_at}#{event_id}"}


def usage_pk(version: int, tenant_id: str) -> str:
    return tenant(version, tenant_id, "USAGE")


def day(version: int, tenant_id: str, day_: str) -> dict[str, str]:
    return {"pk": usage_pk(version, tenant_id), "sk": f"DAY#{day_}"}


def level(version: int, tenant_id: str) -> dict[str, str]:
    return {"pk": usage_pk(version, tenant_id), "sk": LEVEL}


def revenue_pk(version: int) -> str:
    return f"{version_prefix(version)}{PLATFORM}REVENUE"


def month(version: int, month_: str, currency: str) -> dict[str, str]:
    return {"pk": revenue_pk(version), "sk": f"MONTH#{month_}#{currency}"}


def subscriptions_pk(version: int) -> str:
    return f"{version_prefix(version)}{PLATFORM}SUBSCRIPTIONS"


def plan(version: int, key: str) -> dict[str, str]:
    return {"pk": subscriptions_pk(version), "sk": f"PLAN#{key}"}


def trials(version: int) -> dict[str, str]:
    return {"pk": subscriptions_pk(version), "sk": TRIALS}


def ranking_pk(version: int, sort: str) -> str:
    return f"{version_prefix(version)}{TENANTS}{RANKINGS[sort]}"


def ranked(version: int, sort: str, score: int, tenant_id: str) -> dict[str, str]:
    width = 15 if sort == "mrr" else 12
    return {"pk": ranking_pk(version, sort), "sk": f"{RANK}{max(score, 0):0{width}d}#{tenant_id}"}
