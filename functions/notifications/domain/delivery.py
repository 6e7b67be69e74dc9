"""Delivering one event's messages: at most once per (event, recipient, channel), paced, never lost.

For each recipient and channel the preferences are asked first (a transactional or security message
goes whatever they say). An email or a push then goes through four steps:

1. **claim**: the delivery record is written as ``sending`` with a short lease, before anything is
   sent. A record already ``sent`` (or ``failed`` for good) means a redelivery: nothing is sent. A
   fresh lease held by another consumer means "busy": the event is retried after it.
2. **pace**: the provider's shared allowance for this second is taken (``Pacer``); when it is spent the
   claim is released and ``Throttled`` asks the queue to bring the event back a second later.
3. **send** through the provider's port. ``Throttled`` (SES ``TooManyRequestsException``, FCM 429)
   releases the claim and is retried through the queue's visibility timeout, never a sleep;
   ``Undeliverable`` (a hard bounce, an invalid address, a stale token) is recorded as ``failed``
   and published as ``notifications.delivery.failed.v1``, never retried.
4. **commit**: the record becomes ``sent``.

An address that hard-bounced or complained in the tenant (``feedback.py``) is suppressed: its emails
are recorded as ``failed`` (``suppressed``) after the claim, never sent.

The one window where a duplicate is possible: a crash (or timeout) after the provider accepted the
message and before step 4. The lease then expires and a redelivery sends it again. SES v2 and FCM
take no idempotency key, so that window cannot be closed on their side; it is as short as one
provider call. An in-app notice has no such window: the notice and its record are one write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from functions.notifications.domain.messages import Channel, Message, Notice, Recipient
from functions.notifications.domain.ports import (
    Delivery,
    DeliveryInProgress,
    DeliveryLog,
    Devices,
    Mailer,
    Members,
    Pacer,
    Pusher,
    Renderer,
    Throttled,
    TokenGone,
    Undeliverable,
)
from functions.notifications.domain.unsubscribe import UnsubscribeLinks, Unsubscription
from keel import ids
from keel.clock import Clock, SystemClock, iso

#: How long a claim keeps other consumers off one delivery: longer than one provider call takes.
CLAIM_LEASE_SECONDS = 60
EMAIL_PROVIDER, PUSH_PROVIDER = "ses", "fcm"
NOTICE_ID_PREFIX = "ntc"
#: The failure reason of an email not sent because its address hard-bounced or complained before.
SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class About:
    """The event a message is about."""

    tenant_id: str
    event_id: str
    event_type: str


@dataclass(frozen=True)
class Outcome:
    sent: int = 0
    skipped: int = 0
    failed: int = 0

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(self.sent + other.sent, self.skipped + other.skipped, self.failed + other.failed)


class Postman:
    """Delivers messages on every channel, with the guarantees in this module's docstring."""

    def __init__(
        self,
        *,
        log: DeliveryLog,
        members: Members,
        renderer: Renderer,
        mailer: Mailer,
        pusher: Pusher,
        devices: Devices,
        pacer: Pacer,
        links: UnsubscribeLinks,
        clock: Clock | None = None,
    ) -> None:
        self._log = log
        self._members = members
        self._renderer = renderer
        self._mailer = mailer
        self._pusher = pusher
        self._devices = devices
        self._pacer = pacer
        self._links = links
        self._clock = clock or SystemClock()

    def deliver(
        self, about: About, message: Message, recipients: Iterable[Recipient], channels: Iterable[Channel]
    ) -> Outcome:
        """Send ``message`` to each recipient on each channel their preferences allow; raises
        ``Throttled`` or ``DeliveryInProgress`` to have the event retried (what was sent stays sent)."""
        outcome = Outcome()
        wanted = tuple(channels)
        for recipient in recipients:
            preferences = self._members.preferences(about.tenant_id, recipient.user_id) if recipient.user_id else None
            for channel in wanted:
                if preferences is not None and not preferences.allows(message, channel):
                    outcome += Outcome(skipped=1)
                elif channel is Channel.EMAIL:
                    outcome += self._email(about, message, recipient)
                elif channel is Channel.IN_APP:
                    outcome += self._notice(about, message, recipient)
                else:
                    outcome += self._push(about, message, recipient)
        return outcome

    def _delivery(
        self, about: About, message: Message, recipient: Recipient, channel: Channel, device_id: str | None = None
    ) -> Delivery:
        on_device = f":{device_id}" if device_id else ""
        return Delivery(
            id=f"{about.event_id}:{channel.value}:{recipient.key}{on_device}",
            tenant_id=about.tenant_id,
            event_id=about.event_id,
            event_type=about.event_type,
            channel=channel,
            recipient=recipient.key,
            template=message.template,
            category=message.category,
            user_id=recipient.user_id,
        )

    def _claimed(self, delivery: Delivery) -> bool:
        claim = self._log.claim(delivery, at=self._clock.now(), lease_seconds=CLAIM_LEASE_SECONDS)
        if claim == "busy":
            raise DeliveryInProgress(delivery.id)
        return claim == "claimed"

    def _pace(self, delivery: Delivery, provider: str) -> None:
        if not self._pacer.take(provider, at=self._clock.now()):
            self._log.release(delivery, reason=f"{provider}: paced")
            now = self._clock.now()
            raise Throttled(provider, retry_after=1 - now.microsecond / 1_000_000)

    def _email(self, about: About, message: Message, recipient: Recipient) -> Outcome:
        delivery = self._delivery(about, message, recipient, Channel.EMAIL)
        if not self._claimed(delivery):
            return Outcome(skipped=1)
        if self._log.suppressed(about.tenant_id, recipient.email):
            self._log.failed(delivery, at=self._clock.now(), reason=SUPPRESSED)
            return Outcome(failed=1)
        self._pace(delivery, EMAIL_PROVIDER)
        now = self._clock.now()
        unsubscribe = (
            self._links.url(Unsubscription(about.tenant_id, recipient.user_id, message.category), at=now)
            if message.can_be_switched_off and recipient.user_id
            else None
        )
        values = {**message.values, "unsubscribe_url": unsubscribe, "link": message.link}
        rendered = self._renderer.render(message.template, values)
        try:
            provider_id = self._mailer.send(
                recipient.email,
                rendered,
                unsubscribe_url=unsubscribe,
                tenant_id=about.tenant_id,
                event_id=about.event_id,
            )
        except Throttled as throttled:
            self._log.release(delivery, reason=str(throttled))
            raise
        except Undeliverable as refused:
            self._log.failed(delivery, at=now, reason=str(refused))
            return Outcome(failed=1)
        self._log.sent(delivery, at=self._clock.now(), provider_id=provider_id)
        return Outcome(sent=1)

    def _notice(self, about: About, message: Message, recipient: Recipient) -> Outcome:
        if recipient.user_id is None:
            return Outcome(skipped=1)  # an invitee has no inbox yet
        delivery = self._delivery(about, message, recipient, Channel.IN_APP)
        rendered = self._renderer.render(message.template, {**message.values, "link": message.link})
        now = self._clock.now()
        notice = Notice(
            id=ids.new_id(NOTICE_ID_PREFIX, now),
            tenant_id=about.tenant_id,
            user_id=recipient.user_id,
            title=rendered.subject,
            body=rendered.summary or rendered.text.strip(),
            category=message.category,
            created_at=iso(now),
            link=message.link,
        )
        return Outcome(sent=1) if self._log.delivered_in_app(delivery, notice) else Outcome(skipped=1)

    def _push(self, about: About, message: Message, recipient: Recipient) -> Outcome:
        if recipient.user_id is None:
            return Outcome(skipped=1)
        outcome = Outcome()
        rendered = None
        for device in self._devices.of(about.tenant_id, recipient.user_id):
            delivery = self._delivery(about, message, recipient, Channel.PUSH, device.id)
            if not self._claimed(delivery):
                outcome += Outcome(skipped=1)
                continue
            self._pace(delivery, PUSH_PROVIDER)
            rendered = rendered or self._renderer.render(message.template, {**message.values, "link": message.link})
            try:
                provider_id = self._pusher.push(
                    device.token,
                    title=rendered.subject,
                    body=(rendered.summary or rendered.text)[:240],
                    link=message.link,
                )
            except Throttled as throttled:
                self._log.release(delivery, reason=str(throttled))
                raise
            except TokenGone as gone:
                self._devices.remove(about.tenant_id, recipient.user_id, device.id)
                self._log.failed(delivery, at=self._clock.now(), reason=f"token removed: {gone}")
                outcome += Outcome(failed=1)
                continue
            except Undeliverable as refused:
                self._log.failed(delivery, at=self._clock.now(), reason=str(refused))
                outcome += Outcome(failed=1)
                continue
            self._log.sent(delivery, at=self._clock.now(), provider_id=provider_id)
            outcome += Outcome(sent=1)
        return outcome
