"""Which events become which messages, to whom and on which channels: the notifications catalog.

| event | message | to | channels | category |
|---|---|---|---|---|
| billing.subscription.started.v1 (the free tier at sign-up) | welcome | owners | email | product, transactional |
| identity.user.invited.v2 | invitation, with its accept link | the invitee | email | product, transactional |
| identity.member.joined.v1 | member_joined | owners and admins but the newcomer | in-app, push | product |
| billing.payment.failed.v1 | payment_failed, with the link to pay | owners and admins | email, push | billing |
| billing.refund.issued.v1 | refund_issued | owners and admins | email | billing |
| billing.trial.ending.v1 | trial_ending | owners and admins | email | billing |
| billing.subscription.canceled.v1 | subscription_canceled | owners and admins | email | billing |
| identity.tenant.suspended.v1 | tenant_suspended | owners | email | security |
| the weekly job | weekly_summary | each member who wants it | email | product |
"""

from __future__ import annotations

from collections.abc import Callable

from functions.notifications.domain.delivery import About, Outcome, Postman
from functions.notifications.domain.errors import RecipientsNotKnownYet
from functions.notifications.domain.messages import Category, Channel, Message, Recipient
from functions.notifications.domain.ports import Inbox, Members
from keel.contracts.billing import PaymentFailed, RefundIssued, SubscriptionCanceled, SubscriptionStarted, TrialEnding
from keel.contracts.identity import MemberJoined, TenantSuspended, UserInvited

#: Who hears about the tenant's money and standing.
OWNERS = frozenset({"owner"})
MANAGERS = frozenset({"owner", "admin"})

#: ``(accept_url_template, tenant id, invitation id)`` -> the invitee's accept link, token included.
AcceptLink = Callable[[str, str, str], str]


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


class Notifier:
    """Turns the events notifications consumes into messages for ``Postman`` (see the module's table)."""

    def __init__(self, postman: Postman, members: Members, inbox: Inbox, accept_link: AcceptLink) -> None:
        self._postman = postman
        self._members = members
        self._inbox = inbox
        self._accept_link = accept_link

    def _tenant(self, about: About) -> str:
        name = self._members.tenant_name(about.tenant_id)
        if name is None:
            raise RecipientsNotKnownYet(f"tenant {about.tenant_id} is not known yet")
        return name

    def _to(self, about: About, roles: frozenset[str]) -> list[Recipient]:
        recipients = self._members.recipients(about.tenant_id, roles=roles)
        if not recipients:
            raise RecipientsNotKnownYet(f"no {'/'.join(sorted(roles))} of {about.tenant_id} known yet")
        return recipients

    def welcome(self, about: About, started: SubscriptionStarted) -> Outcome:
        """The welcome email to the owner when the free tier starts: the last step of the sign-up saga."""
        if started.interval is not None:
            return Outcome()  # a paid plan starting later is not a new tenant
        tenant = self._tenant(about)
        message = Message(
            "welcome", Category.PRODUCT, {"tenant_name": tenant, "plan": started.plan}, transactional=True
        )
        return self._postman.deliver(about, message, self._to(about, OWNERS), [Channel.EMAIL])

    def invited(self, about: About, invited: UserInvited) -> Outcome:
        """The invitation email, carrying the accept link with its token (made here, never in events)."""
        link = self._accept_link(invited.accept_url_template, about.tenant_id, invited.invitation_id)
        invitee = Recipient(key=invited.invitation_id, email=invited.email)
        inviter = self._members.member(about.tenant_id, invited.invited_by)
        values = {
            "tenant_name": invited.tenant_name,
            "role": invited.role,
            "inviter": inviter.email if inviter else None,
            "expires_at": invited.expires_at.strftime("%d %B %Y"),
        }
        message = Message("invitation", Category.PRODUCT, values, transactional=True, link=link)
        return self._postman.deliver(about, message, [invitee], [Channel.EMAIL])

    def joined(self, about: About, joined: MemberJoined) -> Outcome:
        """An in-app notice (and a push) to the owners and admins that someone joined."""
        if joined.invitation_id is None:
            return Outcome()  # the tenant's creator: nobody else to tell
        tenant = self._tenant(about)
        admins = [r for r in self._to(about, MANAGERS) if r.user_id != joined.user_id]
        values = {"tenant_name": tenant, "email": joined.email, "role": joined.role}
        message = Message("member_joined", Category.PRODUCT, values)
        return self._postman.deliver(about, message, admins, [Channel.IN_APP, Channel.PUSH])

    def payment_failed(self, about: About, failed: PaymentFailed) -> Outcome:
        values = {
            "tenant_name": self._tenant(about),
            "amount": _money(failed.amount_due, failed.currency),
            "number": failed.number,
            "next_retry_at": failed.next_retry_at.strftime("%d %B %Y") if failed.next_retry_at else None,
            "reason": failed.reason,
        }
        message = Message("payment_failed", Category.BILLING, values, link=failed.hosted_invoice_url)
        return self._postman.deliver(about, message, self._to(about, MANAGERS), [Channel.EMAIL, Channel.PUSH])

    def refund_issued(self, about: About, refund: RefundIssued) -> Outcome:
        values = {"tenant_name": self._tenant(about), "amount": _money(refund.amount, refund.currency)}
        message = Message("refund_issued", Category.BILLING, values)
        return self._postman.deliver(about, message, self._to(about, MANAGERS), [Channel.EMAIL])

    def trial_ending(self, about: About, ending: TrialEnding) -> Outcome:
        values = {
            "tenant_name": self._tenant(about),
            "plan": ending.plan,
            "trial_end": ending.trial_end.strftime("%d %B %Y"),
        }
        message = Message("trial_ending", Category.BILLING, values)
        return self._postman.deliver(about, message, self._to(about, MANAGERS), [Channel.EMAIL])

    def canceled(self, about: About, canceled: SubscriptionCanceled) -> Outcome:
        values = {"tenant_name": self._tenant(about), "plan": canceled.plan, "reason": canceled.reason}
        message = Message("subscription_canceled", Category.BILLING, values)
        return self._postman.deliver(about, message, self._to(about, MANAGERS), [Channel.EMAIL])

    def suspended(self, about: About, suspended: TenantSuspended) -> Outcome:
        """Security: sent whatever the preferences say."""
        values = {"tenant_name": self._tenant(about), "reason": suspended.reason}
        message = Message("tenant_suspended", Category.SECURITY, values)
        return self._postman.deliver(about, message, self._to(about, OWNERS), [Channel.EMAIL])

    def weekly_summary(self, about: About, user_id: str) -> Outcome:
        """One member's weekly summary: their unread notices. A member who left since is skipped."""
        member = self._members.member(about.tenant_id, user_id)
        if member is None:
            return Outcome(skipped=1)
        unread = self._inbox.page(about.tenant_id, user_id, unread=True, limit=10, cursor=None).items
        values = {
            "tenant_name": self._tenant(about),
            "unread": [{"title": n.title, "link": n.link} for n in unread],
        }
        message = Message("weekly_summary", Category.PRODUCT, values)
        return self._postman.deliver(about, message, [member], [Channel.EMAIL])
