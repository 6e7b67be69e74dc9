"""The weekly summary for 2,000 members: the job only enqueues (ten per SendMessageBatch, nothing sent),
and draining the queue never sends faster than the configured rate, on an injected clock."""

from __future__ import annotations

from collections import deque
from datetime import timedelta

from functions.notifications.domain.delivery import About
from functions.notifications.domain.ports import Throttled
from functions.notifications.domain.summary import WeeklySummary, summary_run
from tests.unit.notifications.conftest import NOW, TENANT, World
from tests.unit.notifications.fakes import FakeDirectory, FakeSummaryQueue

RECIPIENTS = 2_000


def test_two_thousand_summaries_are_queued_in_batches_and_sent_at_the_configured_rate(world: World) -> None:
    people = [world.members.add(TENANT, f"usr_{n:05d}", role="member").key for n in range(RECIPIENTS)]
    queue = FakeSummaryQueue()
    # When the job runs
    queued = WeeklySummary(FakeDirectory([(TENANT, p) for p in people]), queue, clock=world.clock).enqueue()
    # Then it queued one message per member, ten per SendMessageBatch, and sent nothing itself
    assert (queued, len(queue.batches), max(queue.batches)) == (RECIPIENTS, RECIPIENTS // 10, 10)
    assert world.mailer.sent == []
    # When the consumers drain the queue, a throttled message coming back when the pacer says
    pending = deque(queue.messages)
    while pending:
        message = pending.popleft()
        try:
            world.notifier.weekly_summary(
                About(TENANT, message["run"], "notifications.weekly_summary"), message["user_id"]
            )
        except Throttled as throttled:
            world.clock.advance(timedelta(seconds=throttled.retry_after))
            pending.appendleft(message)
    # Then every member got one summary, and no second saw more than the rate
    assert sorted(to for to, _, _ in world.mailer.sent) == sorted(f"{p}@example.com" for p in people)
    per_second = world.mailer.per_second()
    assert max(per_second.values()) == world.pacer.rate
    assert len(per_second) == -(-RECIPIENTS // world.pacer.rate)


def test_a_summary_run_is_its_iso_week() -> None:
    assert summary_run(NOW) == "summary-2026W49"
    assert summary_run(NOW + timedelta(days=5)) == "summary-2026W49"  # Sunday
    assert summary_run(NOW + timedelta(days=6)) == "summary-2026W50"  # Monday
