"""The notifications context's business errors: ``keel.http`` answers each with its status, in the one
error shape."""

from __future__ import annotations

from keel.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable


class NoticeNotFound(NotFound):
    """No such notice in the caller's own inbox (another member's is not found either)."""


class DeviceNotFound(NotFound):
    """No such device of the caller's (another member's is not found either)."""


class SuppressionNotFound(NotFound):
    """The address is not suppressed in the caller's tenant (another tenant's suppression is not found either)."""


class ComplaintNotLiftable(Forbidden):
    """The recipient marked an email as spam: a tenant's admin cannot decide they want email again."""

    code = "complaint_not_liftable"


class SuppressionChanged(Conflict):
    """The suppression changed (a new verdict, or another admin lifted it) between its read and its lift."""

    code = "suppression_changed"


class MemberNotKnown(NotFound):
    """Notifications has not heard of this member yet (its read model follows identity's events)."""


class LockedCategory(Unprocessable):
    """A preference change tried to switch off a category nobody may switch off (security)."""


class InvalidUnsubscribeLink(BadRequest):
    """An unsubscribe link that is forged, damaged or expired."""


class RecipientsNotKnownYet(RuntimeError):
    """The event arrived before the members it concerns (delivery is unordered): retry it later."""
