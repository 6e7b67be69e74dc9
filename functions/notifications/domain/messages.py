"""What a notification is made of: who it goes to, on which channel, in which category, and what it says.

Categories are what a person can switch off (``product``, ``billing``) or cannot (``security``);
a *transactional* message (an invitation, the welcome at sign-up) is sent whatever the preferences
say, because it is the answer to something the person just did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    PRODUCT = "product"
    BILLING = "billing"
    SECURITY = "security"


class Channel(StrEnum):
    EMAIL = "email"
    IN_APP = "in_app"
    PUSH = "push"


#: Categories nobody can switch off, on any channel.
LOCKED = frozenset({Category.SECURITY})


@dataclass(frozen=True)
class Recipient:
    """A person a message goes to: a member (``user_id``), or an invitee who is not one yet."""

    key: str  # the user id, or the invitation id of an invitee: unique in the tenant
    email: str
    user_id: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class Message:
    """One message about one event, before it is rendered for a channel.

    ``template`` names the versioned templates (``welcome`` -> ``v1/welcome.html`` ...); ``values``
    fill them (tenant-controlled text in them is escaped in HTML by the renderer)."""

    template: str
    category: Category
    values: dict[str, Any] = field(default_factory=dict)
    transactional: bool = False
    #: The link the message is about (pay the invoice, accept the invitation); also the push's link.
    link: str | None = None

    @property
    def can_be_switched_off(self) -> bool:
        return not self.transactional and self.category not in LOCKED


@dataclass(frozen=True)
class Rendered:
    """A message rendered: subject, text and HTML for email, from ``template`` at ``version``; ``summary``
    is what it says without the email's greeting and footer (an in-app notice's body, a push's)."""

    subject: str
    text: str
    html: str
    version: str
    summary: str = ""


@dataclass(frozen=True)
class Notice:
    """An in-app notice in one member's inbox."""

    id: str
    tenant_id: str
    user_id: str
    title: str
    body: str
    category: Category
    created_at: str
    read_at: str | None = None
    link: str | None = None
