from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from functions.notifications.domain.delivery import Postman
from functions.notifications.domain.notifier import Notifier
from functions.notifications.domain.unsubscribe import UnsubscribeLinks
from keel.clock import FixedClock
from tests.unit.notifications.fakes import (
    FakeDevices,
    FakeInbox,
    FakeLog,
    FakeMailer,
    FakeMembers,
    FakePusher,
    FakeRenderer,
    FixedWindowPacer,
)

TENANT = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA"
NOW = datetime(2026, 12, 1, 9, 0, 0, 250_000, tzinfo=UTC)
KEY = b"k" * 32


@dataclass
class World:
    clock: FixedClock
    log: FakeLog
    members: FakeMembers
    mailer: FakeMailer
    pusher: FakePusher
    devices: FakeDevices
    pacer: FixedWindowPacer
    links: UnsubscribeLinks
    postman: Postman
    notifier: Notifier


@pytest.fixture
def world() -> World:
    clock = FixedClock(NOW)
    log, members, mailer = FakeLog(), FakeMembers(names={TENANT: "Acme"}), FakeMailer(clock)
    pusher, devices, pacer = FakePusher(), FakeDevices(), FixedWindowPacer(rate=14)
    links = UnsubscribeLinks(KEY, "https://api.example.com/v1/notifications/unsubscribe?token={token}")
    postman = Postman(
        log=log, members=members, renderer=FakeRenderer(), mailer=mailer, pusher=pusher, devices=devices,
        pacer=pacer, links=links, clock=clock,
    )  # fmt: skip
    notifier = Notifier(postman, members, FakeInbox(), lambda template, t, i: template.replace("{token}", f"{t}.{i}"))
    return World(clock, log, members, mailer, pusher, devices, pacer, links, postman, notifier)
