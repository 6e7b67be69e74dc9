"""What the notifications API reads and answers. Bodies forbid unknown fields, so a tenant id or a user
id slipped into one is a 422."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, StrictBool

from keel.views import Body, View

if TYPE_CHECKING:  # the domain loads on the first request (through wiring), not when the handler does
    from functions.notifications.domain.messages import Notice
    from functions.notifications.domain.ports import (
        Delivery,
        DeliveryPage,
        Device,
        NoticePage,
        Suppression,
        SuppressionPage,
    )
    from functions.notifications.domain.preferences import Preferences

CategoryName = Literal["product", "billing", "security"]


class NoticeView(View):
    id: str
    title: str
    body: str
    category: CategoryName
    link: str | None
    created_at: str
    read_at: str | None

    @classmethod
    def of(cls, notice: Notice) -> NoticeView:
        return cls(
            id=notice.id, title=notice.title, body=notice.body, category=notice.category.value,
            link=notice.link, created_at=notice.created_at, read_at=notice.read_at,
        )  # fmt: skip


class NoticePageView(View):
    items: list[NoticeView]
    #: Pass it back as ``?cursor=`` for the next page; ``null`` on the last one.
    cursor: str | None

    @classmethod
    def of(cls, page: NoticePage) -> NoticePageView:
        return cls(items=[NoticeView.of(n) for n in page.items], cursor=page.cursor)


class ReadAllView(View):
    #: How many were marked read (at most 100 per call: call again while it is 100).
    marked: int


class ChannelChoices(Body):
    # Strict: ``0`` or ``"no"`` is not a choice, only ``true`` or ``false``.
    email: StrictBool | None = None
    in_app: StrictBool | None = None
    push: StrictBool | None = None


class LockedChoices(Body):
    """Security notifications cannot be switched off: ``true`` (or nothing) is the only choice."""

    email: Literal[True] | None = None
    in_app: Literal[True] | None = None
    push: Literal[True] | None = None


class PreferencesBody(Body):
    """Only the categories and channels to change; the rest stay as they are."""

    product: ChannelChoices | None = None
    billing: ChannelChoices | None = None
    security: LockedChoices | None = None


class ChannelsView(View):
    email: bool
    in_app: bool
    push: bool


class PreferencesView(View):
    product: ChannelsView
    billing: ChannelsView
    security: ChannelsView

    @classmethod
    def of(cls, preferences: Preferences) -> PreferencesView:
        stored = preferences.as_stored()
        return cls(**{category: ChannelsView(**channels) for category, channels in stored.items()})


class UnsubscribedView(View):
    category: CategoryName
    email: Literal[False] = False


class NewDevice(Body):
    token: str = Field(min_length=1, max_length=4096, pattern=r"^[A-Za-z0-9_:\-.]+$")
    platform: Literal["ios", "android", "web"]


class DeviceView(View):
    id: str
    platform: str
    created_at: str

    @classmethod
    def of(cls, device: Device) -> DeviceView:
        return cls(id=device.id, platform=device.platform, created_at=device.created_at)


class DeliveryView(View):
    id: str
    event_id: str
    event_type: str
    channel: str
    template: str
    category: CategoryName
    user_id: str | None
    status: Literal["sending", "sent", "failed"]
    attempts: int
    reason: str | None
    updated_at: str | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryView:
        return cls(
            id=delivery.id, event_id=delivery.event_id, event_type=delivery.event_type,
            channel=delivery.channel.value, template=delivery.template, category=delivery.category.value,
            user_id=delivery.user_id, status=delivery.status, attempts=delivery.attempts,
            reason=delivery.reason, updated_at=delivery.updated_at,
        )  # fmt: skip


class DeliveryPageView(View):
    items: list[DeliveryView]
    cursor: str | None

    @classmethod
    def of(cls, page: DeliveryPage) -> DeliveryPageView:
        return cls(items=[DeliveryView.of(d) for d in page.items], cursor=page.cursor)


class SuppressionView(View):
    #: Lowercased, as SES's verdict named it.
    address: str
    #: ``bounced``: a hard bounce (an admin may lift it); ``complained``: marked as spam (no admin may).
    reason: Literal["bounced", "complained"]
    suppressed_at: str
    #: The delivery (in the delivery log) whose bounce or complaint suppressed it.
    delivery_id: str

    @classmethod
    def of(cls, suppression: Suppression) -> SuppressionView:
        return cls(
            address=suppression.address, reason=suppression.reason,
            suppressed_at=suppression.suppressed_at, delivery_id=suppression.delivery_id,
        )  # fmt: skip


class SuppressionPageView(View):
    items: list[SuppressionView]
    cursor: str | None

    @classmethod
    def of(cls, page: SuppressionPage) -> SuppressionPageView:
        return cls(items=[SuppressionView.of(s) for s in page.items], cursor=page.cursor)
