"""Postman and Notifier on in-memory ports: at most once per (event, recipient, channel), throttling
handed back to the queue, permanent failures recorded, preferences and locked categories, push tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions.notifications.domain.delivery import About
from functions.notifications.domain.messages import Category, Channel
from functions.notifications.domain.ports import DeliveryInProgress, Device, Throttled
from keel.contracts.billing import SubscriptionStarted
from keel.contracts.identity import MemberJoined, TenantSuspended
from tests.unit.notifications.conftest import NOW, TENANT, World

ABOUT = About(TENANT, "evt_01JDAAAAAAAAAAAAAAAAAAAAAA", "billing.subscription.started.v1")
FREE = SubscriptionStarted(
    plan="free", interval=None, amount=0, currency="usd", started_at=NOW, current_period_end=None
)
SUSPENDED = TenantSuspended(tenant_id=TENANT, operator_id="usr_op", reason="abuse")


def test_an_event_delivered_twice_sends_its_email_once(world: World) -> None:
    world.members.add(TENANT, "usr_owner")
    world.notifier.welcome(ABOUT, FREE)
    again = world.notifier.welcome(ABOUT, FREE)
    assert (len(world.mailer.sent), again.skipped) == (1, 1)


def test_a_paid_plan_starting_later_is_no_new_tenant(world: World) -> None:
    world.members.add(TENANT, "usr_owner")
    paid = FREE.model_copy(update={"plan": "pro", "interval": "monthly", "amount": 2900})
    world.notifier.welcome(ABOUT, paid)
    assert world.mailer.sent == []


def test_an_event_arriving_before_its_tenant_is_known_is_retried(world: World) -> None:
    from functions.notifications.domain.errors import RecipientsNotKnownYet

    world.members.names.clear()
    with pytest.raises(RecipientsNotKnownYet):
        world.notifier.welcome(ABOUT, FREE)


def test_a_throttled_send_goes_back_to_the_queue_and_is_sent_once_when_it_comes_back(world: World) -> None:
    world.members.add(TENANT, "usr_owner")
    world.mailer.throttle = 2
    for _ in range(2):
        with pytest.raises(Throttled) as throttled:
            world.notifier.suspended(ABOUT, SUSPENDED)
        assert throttled.value.retry_after == 2.0
    world.notifier.suspended(ABOUT, SUSPENDED)
    (record,) = world.log.records.values()
    assert (len(world.mailer.sent), record.status, record.attempts) == (1, "sent", 3)


def test_a_delivery_another_consumer_holds_is_left_to_it(world: World) -> None:
    owner = world.members.add(TENANT, "usr_owner")
    delivery_id = f"{ABOUT.event_id}:email:{owner.key}"
    world.log.claim(world.postman._delivery(ABOUT, _message(), owner, Channel.EMAIL), at=NOW, lease_seconds=60)
    assert delivery_id in world.log.records
    with pytest.raises(DeliveryInProgress):
        world.notifier.suspended(ABOUT, SUSPENDED)
    # Once its lease has run out (that consumer crashed), the next attempt sends it
    world.clock.advance(timedelta(seconds=61))
    world.notifier.suspended(ABOUT, SUSPENDED)
    assert len(world.mailer.sent) == 1


def _message():  # type: ignore[no-untyped-def]
    from functions.notifications.domain.messages import Message

    return Message("tenant_suspended", Category.SECURITY)


def test_a_refused_address_is_recorded_failed_and_not_retried(world: World) -> None:
    world.members.add(TENANT, "usr_owner")
    world.mailer.refuse.add("usr_owner@example.com")
    outcome = world.notifier.suspended(ABOUT, SUSPENDED)
    again = world.notifier.suspended(ABOUT, SUSPENDED)
    (record,) = world.log.records.values()
    assert (outcome.failed, again.skipped, record.status) == (1, 1, "failed")


def test_preferences_are_respected_and_security_is_sent_whatever_they_say(world: World) -> None:
    world.members.add(TENANT, "usr_owner")
    everything_off = {c: dict.fromkeys(Channel, False) for c in (Category.PRODUCT, Category.BILLING)}
    world.members.save_preferences(
        TENANT, "usr_owner", world.members.preferences(TENANT, "usr_owner").changed(everything_off)
    )
    from keel.contracts.billing import TrialEnding

    skipped = world.notifier.trial_ending(ABOUT, TrialEnding(plan="pro", trial_end=NOW))
    sent = world.notifier.suspended(About(TENANT, "evt_01JDAAAAAAAAAAAAAAAAAAAAAB", SUSPENDED.TYPE), SUSPENDED)
    assert (skipped.skipped, sent.sent) == (1, 1)
    assert [to for to, _, _ in world.mailer.sent] == ["usr_owner@example.com"]


def test_only_switchable_email_carries_an_unsubscribe_link(world: World) -> None:
    world.members.add(TENANT, "usr_owner")
    from keel.contracts.billing import TrialEnding

    world.notifier.trial_ending(ABOUT, TrialEnding(plan="pro", trial_end=NOW))
    world.notifier.suspended(About(TENANT, "evt_01JDAAAAAAAAAAAAAAAAAAAAAB", SUSPENDED.TYPE), SUSPENDED)
    billing, security = (link for _, _, link in world.mailer.sent)
    assert billing is not None
    assert world.links.read(billing.split("token=")[1], at=NOW).category is Category.BILLING
    assert security is None


def test_a_stale_push_token_is_removed_and_the_others_still_get_the_push(world: World) -> None:
    world.members.add(TENANT, "usr_owner")
    for token in ("good", "stale-1"):
        world.devices.add(Device(f"dev_{token}", TENANT, "usr_owner", token, "ios", "2026-12-01"))
    joined = MemberJoined(user_id="usr_new", email="new@example.com", role="member", invitation_id="inv_1")
    outcome = world.notifier.joined(About(TENANT, "evt_01JDAAAAAAAAAAAAAAAAAAAAAC", joined.TYPE), joined)
    assert world.pusher.pushed == ["good"]
    assert [d.token for d in world.devices.of(TENANT, "usr_owner")] == ["good"]
    assert (outcome.sent, outcome.failed) == (2, 1)  # the in-app notice and one push; the stale token failed
    assert [n.title for n in world.log.notices] == ["member_joined for Acme"]


def test_the_newcomer_is_not_told_they_joined(world: World) -> None:
    world.members.add(TENANT, "usr_owner")
    world.members.add(TENANT, "usr_new", role="admin")
    joined = MemberJoined(user_id="usr_new", email="new@example.com", role="admin", invitation_id="inv_1")
    world.notifier.joined(About(TENANT, "evt_01JDAAAAAAAAAAAAAAAAAAAAAC", joined.TYPE), joined)
    assert [n.user_id for n in world.log.notices] == ["usr_owner"]


def test_an_invitation_goes_to_the_invitee_with_the_accept_link(world: World) -> None:
    from keel.contracts.identity import UserInvited

    invited = UserInvited(
        invitation_id="inv_1", email="bob@example.com", role="member", invited_by="usr_owner", tenant_name="Acme",
        expires_at=NOW, accept_url_template="https://app.example.com/accept?token={token}",
    )  # fmt: skip
    world.notifier.invited(About(TENANT, "evt_01JDAAAAAAAAAAAAAAAAAAAAAD", invited.TYPE), invited)
    assert [(to, link) for to, _, link in world.mailer.sent] == [("bob@example.com", None)]
