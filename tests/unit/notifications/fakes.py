"""Notifications' ports in memory: what the services store is what they read back."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from functions.notifications.domain.errors import MemberNotKnown
from functions.notifications.domain.messages import Notice, Recipient, Rendered
from functions.notifications.domain.ports import (
    ClaimOutcome,
    Delivery,
    DeliveryPage,
    Device,
    NoticePage,
    Throttled,
    TokenGone,
    Undeliverable,
)
from functions.notifications.domain.preferences import Preferences
from keel.clock import FixedClock


@dataclass
class FakeLog:
    records: dict[str, Delivery] = field(default_factory=dict)
    leases: dict[str, float] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    suppressions: set[tuple[str, str]] = field(default_factory=set)

    def claim(self, delivery: Delivery, *, at: datetime, lease_seconds: int) -> ClaimOutcome:
        stored = self.records.get(delivery.id)
        if stored is not None and stored.status != "sending":
            return "done"
        if stored is not None and self.leases.get(delivery.id, 0) >= at.timestamp():
            return "busy"
        attempts = stored.attempts + 1 if stored else 1
        self.records[delivery.id] = replace(delivery, status="sending", attempts=attempts)
        self.leases[delivery.id] = at.timestamp() + lease_seconds
        return "claimed"

    def sent(self, delivery: Delivery, *, at: datetime, provider_id: str) -> None:
        self.records[delivery.id] = replace(self.records[delivery.id], status="sent", provider_id=provider_id)

    def release(self, delivery: Delivery, *, reason: str) -> None:
        self.leases[delivery.id] = 0

    def failed(self, delivery: Delivery, *, at: datetime, reason: str) -> None:
        self.records[delivery.id] = replace(self.records[delivery.id], status="failed", reason=reason)

    def suppressed(self, tenant_id: str, address: str) -> bool:
        return (tenant_id, address.lower()) in self.suppressions

    def sent_email(self, tenant_id: str, event_id: str, provider_id: str) -> Delivery | None:
        found = [
            d
            for d in self.records.values()
            if (d.tenant_id, d.event_id, d.provider_id) == (tenant_id, event_id, provider_id)
        ]
        return found[0] if found else None

    def rejected_later(self, delivery: Delivery, *, at: datetime, reason: str, suppress: frozenset[str]) -> bool:
        if self.records[delivery.id].status == "failed":
            return False
        self.records[delivery.id] = replace(self.records[delivery.id], status="failed", reason=reason)
        self.suppressions |= {(delivery.tenant_id, a.lower()) for a in suppress}
        return True

    def delivered_in_app(self, delivery: Delivery, notice: Notice) -> bool:
        if delivery.id in self.records:
            return False
        self.records[delivery.id] = replace(delivery, status="sent", attempts=1)
        self.notices.append(notice)
        return True

    def page(self, tenant_id: str, *, status: str | None, limit: int, cursor: str | None) -> DeliveryPage:
        return DeliveryPage([d for d in self.records.values() if status in (None, d.status)][:limit], None)


@dataclass
class FakeMembers:
    names: dict[str, str] = field(default_factory=dict)
    people: dict[tuple[str, str], Recipient] = field(default_factory=dict)
    choices: dict[tuple[str, str], Preferences] = field(default_factory=dict)

    def add(self, tenant_id: str, user_id: str, role: str = "owner") -> Recipient:
        person = Recipient(key=user_id, email=f"{user_id}@example.com", user_id=user_id, role=role)
        self.people[(tenant_id, user_id)] = person
        return person

    def tenant_name(self, tenant_id: str) -> str | None:
        return self.names.get(tenant_id)

    def recipients(self, tenant_id: str, *, roles: frozenset[str]) -> list[Recipient]:
        return [p for (t, _), p in self.people.items() if t == tenant_id and p.role in roles]

    def member(self, tenant_id: str, user_id: str) -> Recipient | None:
        return self.people.get((tenant_id, user_id))

    def preferences(self, tenant_id: str, user_id: str) -> Preferences:
        return self.choices.get((tenant_id, user_id), Preferences.default())

    def save_preferences(self, tenant_id: str, user_id: str, preferences: Preferences) -> None:
        if (tenant_id, user_id) not in self.people:
            raise MemberNotKnown("unknown")
        self.choices[(tenant_id, user_id)] = preferences


class FakeRenderer:
    def render(self, template: str, values: dict[str, Any]) -> Rendered:
        return Rendered(
            subject=f"{template} for {values.get('tenant_name')}", text="text", html="<p>html</p>", version="v1"
        )


@dataclass
class FakeMailer:
    """Accepts every email, unless told to throttle the next ``throttle`` sends or refuse some addresses."""

    clock: FixedClock
    sent: list[tuple[str, datetime, str | None]] = field(default_factory=list)
    throttle: int = 0
    refuse: set[str] = field(default_factory=set)

    def send(self, to: str, rendered: Rendered, *, unsubscribe_url: str | None, tenant_id: str, event_id: str) -> str:
        if self.throttle:
            self.throttle -= 1
            raise Throttled("ses", 2.0)
        if to in self.refuse:
            raise Undeliverable("hard bounce")
        self.sent.append((to, self.clock.now(), unsubscribe_url))
        return f"msg-{len(self.sent)}"

    def per_second(self) -> Counter[int]:
        return Counter(int(at.timestamp()) for _, at, _ in self.sent)


@dataclass
class FakePusher:
    pushed: list[str] = field(default_factory=list)

    def push(self, token: str, *, title: str, body: str, link: str | None) -> str:
        if "stale" in token:
            raise TokenGone("UNREGISTERED")
        self.pushed.append(token)
        return f"projects/p/messages/{len(self.pushed)}"


@dataclass
class FakeDevices:
    devices: dict[str, Device] = field(default_factory=dict)

    def add(self, device: Device) -> Device:
        return self.devices.setdefault(device.id, device)

    def of(self, tenant_id: str, user_id: str) -> list[Device]:
        return [d for d in self.devices.values() if (d.tenant_id, d.user_id) == (tenant_id, user_id)]

    def remove(self, tenant_id: str, user_id: str, device_id: str) -> bool:
        found = self.devices.get(device_id)
        if found is None or (found.tenant_id, found.user_id) != (tenant_id, user_id):
            return False
        del self.devices[device_id]
        return True


@dataclass
class FixedWindowPacer:
    """The DynamoDB pacer's rule in memory: at most ``rate`` takes per provider per clock second."""

    rate: int
    taken: Counter[tuple[str, int]] = field(default_factory=Counter)

    def take(self, provider: str, *, at: datetime) -> bool:
        second = (provider, int(at.timestamp()))
        if self.taken[second] >= self.rate:
            return False
        self.taken[second] += 1
        return True


class FakeInbox:
    def page(self, tenant_id: str, user_id: str, *, unread: bool, limit: int, cursor: str | None) -> NoticePage:
        return NoticePage([], None)

    def mark_read(self, tenant_id: str, user_id: str, notice_id: str, *, at: datetime) -> Notice | None:
        return None

    def mark_all_read(self, tenant_id: str, user_id: str, *, at: datetime) -> int:
        return 0


@dataclass
class FakeSummaryQueue:
    """SQS in memory: each ``enqueue`` call is one SendMessageBatch per ten."""

    messages: list[dict[str, str]] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)

    def enqueue(self, recipients: list[tuple[str, str]], *, run: str) -> int:
        for start in range(0, len(recipients), 10):
            chunk = recipients[start : start + 10]
            self.batches.append(len(chunk))
            self.messages += [{"tenant_id": t, "user_id": u, "run": run} for t, u in chunk]
        return len(recipients)


@dataclass
class FakeDirectory:
    recipients: list[tuple[str, str]]

    def summary_recipients(self) -> list[tuple[str, str]]:
        return list(self.recipients)
