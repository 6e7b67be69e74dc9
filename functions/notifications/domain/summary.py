"""The weekly activity summary: the job only enqueues, one message per member who wants it, in batches
of ten (``SendMessageBatch``); the consumer sends each at the provider's pace. A loop that sent mail
itself would outrun the provider's rate at a few thousand members and take everything else down."""

from __future__ import annotations

from datetime import datetime

from functions.notifications.domain.ports import Directory, SummaryQueue
from keel.clock import Clock, SystemClock


def summary_run(at: datetime) -> str:
    """The run a summary belongs to, one per ISO week: the dedupe id of its deliveries (a job that runs
    twice in a week sends nothing twice)."""
    year, week, _ = at.isocalendar()
    return f"summary-{year}W{week:02d}"


class WeeklySummary:
    def __init__(self, directory: Directory, queue: SummaryQueue, clock: Clock | None = None) -> None:
        self._directory = directory
        self._queue = queue
        self._clock = clock or SystemClock()

    def enqueue(self) -> int:
        """Queue one summary per opted-in member for this week's run; how many were queued."""
        return self._queue.enqueue(self._directory.summary_recipients(), run=summary_run(self._clock.now()))
