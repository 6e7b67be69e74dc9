"""What a member does with their notifications over the API: the inbox, preferences, devices,
unsubscribing from a link, and (admins) the tenant's delivery log. Each method takes the tenant first
and acts on the caller's own things only."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from functions.notifications.domain.errors import DeviceNotFound, NoticeNotFound
from functions.notifications.domain.messages import Category, Channel, Notice
from functions.notifications.domain.ports import DeliveryLog, DeliveryPage, Device, Devices, Inbox, Members, NoticePage
from functions.notifications.domain.preferences import Preferences
from functions.notifications.domain.unsubscribe import UnsubscribeLinks, Unsubscription
from keel import ids
from keel.clock import Clock, SystemClock, iso

DEVICE_ID_PREFIX = "dev"


def device_id(tenant_id: str, user_id: str, token: str) -> str:
    """The same token registered again by the same member is the same device."""
    digest = hashlib.sha256(f"{tenant_id}\n{user_id}\n{token}".encode()).hexdigest()[:24]
    return f"{DEVICE_ID_PREFIX}_{digest}"


class NotificationCenter:
    def __init__(
        self,
        *,
        inbox: Inbox,
        members: Members,
        devices: Devices,
        log: DeliveryLog,
        links: UnsubscribeLinks,
        clock: Clock | None = None,
    ) -> None:
        self._inbox = inbox
        self._members = members
        self._devices = devices
        self._log = log
        self._links = links
        self._clock = clock or SystemClock()

    # -- the inbox ------------------------------------------------------------------------------

    def inbox(self, tenant_id: str, user_id: str, *, unread: bool, limit: int, cursor: str | None) -> NoticePage:
        """One page of the member's own notices, newest first (``unread``: only those not read)."""
        return self._inbox.page(tenant_id, user_id, unread=unread, limit=limit, cursor=cursor)

    def read(self, tenant_id: str, user_id: str, notice_id: str) -> Notice:
        """Mark one of the member's own notices read; anyone else's is not found."""
        found = (
            self._inbox.mark_read(tenant_id, user_id, notice_id, at=self._clock.now())
            if ids.is_id("ntc", notice_id)
            else None
        )
        if found is None:
            raise NoticeNotFound("no such notification")
        return found

    def read_all(self, tenant_id: str, user_id: str) -> int:
        """Mark the member's unread notices read (up to 100 per call); how many were marked."""
        return self._inbox.mark_all_read(tenant_id, user_id, at=self._clock.now())

    # -- preferences ----------------------------------------------------------------------------

    def preferences(self, tenant_id: str, user_id: str) -> Preferences:
        return self._members.preferences(tenant_id, user_id)

    def set_preferences(
        self, tenant_id: str, user_id: str, wanted: Mapping[Category, Mapping[Channel, bool]]
    ) -> Preferences:
        """Apply ``wanted``; a change that switches security off is a 422 naming it, and changes nothing."""
        changed = self._members.preferences(tenant_id, user_id).changed(wanted)
        self._members.save_preferences(tenant_id, user_id, changed)
        return changed

    def unsubscribe(self, token: str) -> Unsubscription:
        """Switch off the one category of email a signed link names, without signing in."""
        what = self._links.read(token, at=self._clock.now())
        current = self._members.preferences(what.tenant_id, what.user_id)
        self._members.save_preferences(what.tenant_id, what.user_id, current.without(what.category, Channel.EMAIL))
        return what

    # -- devices --------------------------------------------------------------------------------

    def register_device(self, tenant_id: str, user_id: str, *, token: str, platform: str) -> Device:
        device = Device(
            id=device_id(tenant_id, user_id, token),
            tenant_id=tenant_id,
            user_id=user_id,
            token=token,
            platform=platform,
            created_at=iso(self._clock.now()),
        )
        return self._devices.add(device)

    def remove_device(self, tenant_id: str, user_id: str, device: str) -> None:
        if not device.startswith(f"{DEVICE_ID_PREFIX}_") or not self._devices.remove(tenant_id, user_id, device):
            raise DeviceNotFound("no such device")

    # -- the delivery log -----------------------------------------------------------------------

    def deliveries(self, tenant_id: str, *, status: str | None, limit: int, cursor: str | None) -> DeliveryPage:
        """One page of the tenant's delivery log, newest event first."""
        return self._log.page(tenant_id, status=status, limit=limit, cursor=cursor)
