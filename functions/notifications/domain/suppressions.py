"""The tenant's suppressed addresses, as its admins see and lift them.

An address is suppressed in a tenant when an email to it hard-bounced or drew a complaint
(``feedback.py``); nothing is sent to it there again until an admin lifts it. Who may lift what:

- **a hard bounce**: yes. A bounce is a fact about the mailbox (it did not exist, or refused mail);
  once its owner fixed it, the tenant's admin lifts it and email flows again. If it still bounces,
  SES's next verdict suppresses it again.
- **a complaint**: no (``ComplaintNotLiftable``, 403). The recipient marked an email as spam: that is
  their own choice, and an admin's word that they changed their mind is exactly the mail a complaint
  is about. Complaints also weigh on the deployment's SES reputation, shared by every tenant. On SES's
  own account-level suppression list only the account's owner removes an address; here that is the
  deployment's operators, on the recipient's own request, not a tenant's staff.

Lifting reads the suppression once and removes it with its ``notifications.suppression.lifted.v1``
(the audit trail: address, reason, who, when) in one write, conditioned on it being the one read, so
a complaint that arrives in between is never lifted by a bounce's say-so.

The provider keeps a list of its own (SES's account-level suppression list, fed by the same bounces):
while the address is on it, SES accepts the next email without sending it and reports it bounced,
which would suppress the address here again. So a lift first takes the address off that list, then
lifts it here. That list is shared by every tenant, and that is safe: it is this context's per-tenant
suppressions that decide who gets email (an address another tenant's email bounced from stays
suppressed in that tenant). Should the write here then fail, the address is off SES's list and still
suppressed here: nothing is sent to it, and lifting again completes it.
"""

from __future__ import annotations

from functions.notifications.domain.errors import ComplaintNotLiftable, SuppressionNotFound
from functions.notifications.domain.ports import (
    ProviderSuppressions,
    Suppression,
    SuppressionPage,
    SuppressionReason,
    Suppressions,
)
from keel.clock import Clock, SystemClock

#: The reasons a tenant's admin may lift (see the module docstring for why complaints are not among them).
LIFTABLE: frozenset[SuppressionReason] = frozenset({"bounced"})


class SuppressionList:
    """What a tenant's admins do with the addresses suppressed in their tenant."""

    def __init__(self, suppressions: Suppressions, provider: ProviderSuppressions, clock: Clock | None = None) -> None:
        self._suppressions = suppressions
        self._provider = provider
        self._clock = clock or SystemClock()

    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> SuppressionPage:
        """One page of the tenant's suppressed addresses, in address order."""
        return self._suppressions.page(tenant_id, limit=limit, cursor=cursor)

    def lift(self, tenant_id: str, address: str, *, by: str) -> Suppression:
        """Lift the suppression of ``address`` in the tenant, recording ``by`` (who) and now (when);
        ``SuppressionNotFound`` when it is not suppressed there, ``ComplaintNotLiftable`` for a complaint."""
        found = self._suppressions.get(tenant_id, address)
        if found is None:
            raise SuppressionNotFound("this address is not suppressed")
        if found.reason not in LIFTABLE:
            raise ComplaintNotLiftable(
                "the recipient marked an email as spam: only they can ask for email again, through the "
                "deployment's operators"
            )
        self._provider.release(found.address)
        self._suppressions.lift(tenant_id, found, by=by, at=self._clock.now())
        return found
