"""What the notifications context's services need from the outside world, as protocols the adapters
implement. Each store method takes the tenant first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from functions.notifications.domain.messages import Category, Channel, Notice, Recipient, Rendered
from functions.notifications.domain.preferences import Preferences

ClaimOutcome = Literal["claimed", "done", "busy"]
DeliveryStatus = Literal["sending", "sent", "failed"]
#: Why an address is suppressed: SES's verdict on an email to it (``feedback.py``).
SuppressionReason = Literal["bounced", "complained"]


class Throttled(Exception):
    """The provider (or our own pace) says not now: try again in ``retry_after`` seconds."""

    def __init__(self, provider: str, retry_after: float) -> None:
        super().__init__(f"{provider} throttled: retry in {retry_after:.1f} s")
        self.provider = provider
        self.retry_after = retry_after


class Undeliverable(Exception):
    """The provider refuses this address or token for good (a hard bounce, an invalid address): never retried."""


class TokenGone(Undeliverable):
    """The push token is no longer registered (FCM ``UNREGISTERED`` / 404): the device is removed."""


class DeliveryInProgress(RuntimeError):
    """Another consumer holds the delivery's claim right now: the event is retried after it."""


@dataclass(frozen=True)
class Delivery:
    """One (event, recipient, channel): its entry in the tenant's delivery log."""

    id: str  # <event id>:<channel>:<recipient key>
    tenant_id: str
    event_id: str
    event_type: str
    channel: Channel
    recipient: str
    template: str
    category: Category
    user_id: str | None = None
    status: DeliveryStatus = "sending"
    attempts: int = 0
    updated_at: str | None = None
    reason: str | None = None
    provider_id: str | None = None


@dataclass(frozen=True)
class DeliveryPage:
    items: list[Delivery]
    cursor: str | None


@dataclass(frozen=True)
class NoticePage:
    items: list[Notice]
    cursor: str | None


@dataclass(frozen=True)
class Suppression:
    """An address no email goes to in one tenant, and the verdict that put it there."""

    address: str  # lowercased, as SES's verdict named it
    reason: SuppressionReason
    delivery_id: str  # the delivery whose bounce or complaint it was
    suppressed_at: str


@dataclass(frozen=True)
class SuppressionPage:
    items: list[Suppression]
    cursor: str | None


@dataclass(frozen=True)
class Device:
    id: str
    tenant_id: str
    user_id: str
    token: str
    platform: str
    created_at: str


class DeliveryLog(Protocol):
    """Delivery records: the dedupe that makes each (event, recipient, channel) go out at most once."""

    def claim(self, delivery: Delivery, *, at: datetime, lease_seconds: int) -> ClaimOutcome:
        """Write the record as ``sending`` before the send: ``done`` when it was already sent (or failed
        for good), ``busy`` when another consumer's claim on it has not expired yet."""
        ...

    def sent(self, delivery: Delivery, *, at: datetime, provider_id: str) -> None: ...

    def release(self, delivery: Delivery, *, reason: str) -> None:
        """Give the claim up (throttled): the next attempt claims it again at once."""
        ...

    def failed(self, delivery: Delivery, *, at: datetime, reason: str) -> None:
        """Record a permanent failure with its ``notifications.delivery.failed.v1``, in one write."""
        ...

    def suppressed(self, tenant_id: str, address: str) -> bool:
        """``True`` when ``address`` hard-bounced or complained in this tenant: nothing is sent to it."""
        ...

    def sent_email(self, tenant_id: str, event_id: str, provider_id: str) -> Delivery | None:
        """The email delivery of ``event_id`` the provider accepted as ``provider_id``, if any."""
        ...

    def rejected_later(self, delivery: Delivery, *, at: datetime, reason: str, suppress: frozenset[str]) -> bool:
        """Record a bounce or complaint that came after the send: the delivery ``failed`` with its
        ``notifications.delivery.failed.v1`` and ``suppress``'s addresses suppressed, in one write;
        ``False`` (nothing written) when the delivery had failed already."""
        ...

    def delivered_in_app(self, delivery: Delivery, notice: Notice) -> bool:
        """Put ``notice`` in its inbox with its record as ``sent``, in one write; ``False`` if it was there."""
        ...

    def page(self, tenant_id: str, *, status: str | None, limit: int, cursor: str | None) -> DeliveryPage: ...


class Suppressions(Protocol):
    """The tenant's suppressed addresses (written by ``DeliveryLog.rejected_later``), read and lifted."""

    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> SuppressionPage:
        """One page of the tenant's suppressed addresses, in address order (one Query)."""
        ...

    def get(self, tenant_id: str, address: str) -> Suppression | None: ...

    def lift(self, tenant_id: str, suppression: Suppression, *, by: str, at: datetime) -> None:
        """Remove ``suppression`` with its ``notifications.suppression.lifted.v1``, in one write, only if
        it is still the one read: ``SuppressionChanged`` (nothing written) when it is not."""
        ...


class ProviderSuppressions(Protocol):
    """The email provider's own list of addresses it refuses to send to (SES's account-level
    suppression list), shared by every tenant of the deployment."""

    def release(self, address: str) -> None:
        """Take ``address`` off the provider's list; nothing when it is not on it."""
        ...


class Members(Protocol):
    """Notifications' own copy of each tenant's name and members, fed by identity's events."""

    def tenant_name(self, tenant_id: str) -> str | None: ...

    def recipients(self, tenant_id: str, *, roles: frozenset[str]) -> list[Recipient]: ...

    def member(self, tenant_id: str, user_id: str) -> Recipient | None: ...

    def preferences(self, tenant_id: str, user_id: str) -> Preferences: ...

    def save_preferences(self, tenant_id: str, user_id: str, preferences: Preferences) -> None:
        """``MemberNotKnown`` when the member is not in the read model (yet)."""
        ...


class Renderer(Protocol):
    def render(self, template: str, values: dict[str, Any]) -> Rendered: ...


class Mailer(Protocol):
    """Sends one email; ``Throttled`` or ``Undeliverable`` when the provider says so. Returns its id.
    The email carries ``tenant_id`` and ``event_id``, so the provider's later verdict on it (a bounce,
    a complaint) finds its delivery again."""

    def send(
        self, to: str, rendered: Rendered, *, unsubscribe_url: str | None, tenant_id: str, event_id: str
    ) -> str: ...


class Pusher(Protocol):
    """Sends one push notification to one device token; ``Throttled``, ``TokenGone`` or
    ``Undeliverable`` when the provider says so. Returns the provider's message id."""

    def push(self, token: str, *, title: str, body: str, link: str | None) -> str: ...


class Pacer(Protocol):
    """The send rate per provider, shared by every concurrent consumer: ``True`` when a send may go
    now, ``False`` when this second's allowance is spent."""

    def take(self, provider: str, *, at: datetime) -> bool: ...


class Inbox(Protocol):
    def page(self, tenant_id: str, user_id: str, *, unread: bool, limit: int, cursor: str | None) -> NoticePage: ...

    def mark_read(self, tenant_id: str, user_id: str, notice_id: str, *, at: datetime) -> Notice | None: ...

    def mark_all_read(self, tenant_id: str, user_id: str, *, at: datetime) -> int: ...


class Devices(Protocol):
    def add(self, device: Device) -> Device:
        """Register it; the same token of the same member is the same device (answered as stored)."""
        ...

    def of(self, tenant_id: str, user_id: str) -> list[Device]: ...

    def remove(self, tenant_id: str, user_id: str, device_id: str) -> bool: ...


class SummaryQueue(Protocol):
    def enqueue(self, recipients: list[tuple[str, str]], *, run: str) -> int:
        """One message per ``(tenant id, user id)`` of ``run``, in batches of ten; the count sent."""
        ...


class Directory(Protocol):
    def summary_recipients(self) -> list[tuple[str, str]]:
        """``(tenant id, user id)`` of every member who wants the weekly summary by email."""
        ...
