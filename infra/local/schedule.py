"""EventBridge schedule expressions and the loop that fires the topology's jobs (moto fires none).

``rate(5 minutes)`` and six-field ``cron(minutes hours day-of-month month day-of-week year)``
in UTC, with EventBridge's wildcards: ``, - * / ?``, ``L`` and ``W`` in day-of-month, ``L`` and
``#`` in day-of-week, month and weekday names. Exactly one of the two day fields must be ``?``.
"""

from __future__ import annotations

import calendar
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from infra.local.lambdas import LocalFunction
from infra.local.pollers import BackgroundLoop
from infra.local.shapes import scheduled_event

log = logging.getLogger("keel.local")

_LAST_YEAR = 2199
_MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


class ScheduleError(ValueError):
    """The expression is not one EventBridge would accept."""


class Schedule(Protocol):
    def next_after(self, at: datetime) -> datetime | None:
        """The first firing strictly after ``at``; ``None`` when the schedule never fires again."""
        ...


@dataclass(frozen=True)
class Rate:
    every: timedelta

    def next_after(self, at: datetime) -> datetime | None:
        return at + self.every


DayRule = Callable[[date], bool]


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int]
    day_rule: DayRule

    def next_after(self, at: datetime) -> datetime | None:
        start = at.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        year, month = start.year, start.month
        while year <= _LAST_YEAR:
            if year not in self.years:
                year, month = year + 1, 1
                continue
            if month in self.months:
                first = start.day if (year, month) == (start.year, start.month) else 1
                for day in range(first, calendar.monthrange(year, month)[1] + 1):
                    if not self.day_rule(date(year, month, day)):
                        continue
                    for hour in self.hours:
                        for minute in self.minutes:
                            candidate = datetime(year, month, day, hour, minute, tzinfo=UTC)
                            if candidate >= start:
                                return candidate
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return None


def parse_schedule(expression: str) -> Rate | Cron:
    """Parse an EventBridge ``rate(...)`` or ``cron(...)`` expression."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            raise ScheduleError(f"{expression}: the rate must be at least 1")
        base = unit.rstrip("s")
        expected = f"rate({value} {base}{'' if value == 1 else 's'})"
        if f"rate({value} {unit})" != expected:
            raise ScheduleError(f"{expression}: EventBridge wants {expected}")
        return Rate(every=_UNITS[base] * value)
    if text.startswith("cron(") and text.endswith(")"):
        return _parse_cron(expression, text[5:-1].split())
    expected = "rate(N unit) or cron(min hour day-of-month month day-of-week year)"
    raise ScheduleError(f"{expression}: expected {expected}")


def _parse_cron(expression: str, fields: list[str]) -> Cron:
    if len(fields) != 6:
        raise ScheduleError(f"{expression}: cron needs 6 fields, got {len(fields)}")
    minutes, hours, day_of_month, months, day_of_week, years = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleError(f"{expression}: exactly one of day-of-month and day-of-week must be '?'")
    day_rule = (
        _day_of_week_rule(expression, day_of_week)
        if day_of_month == "?"
        else _day_of_month_rule(expression, day_of_month)
    )
    return Cron(
        minutes=tuple(sorted(_values(expression, minutes, 0, 59))),
        hours=tuple(sorted(_values(expression, hours, 0, 23))),
        months=frozenset(_values(expression, months, 1, 12, _MONTHS)),
        years=frozenset(_values(expression, years, 1970, _LAST_YEAR)),
        day_rule=day_rule,
    )


def _value(expression: str, token: str, low: int, high: int, names: dict[str, int]) -> int:
    upper = token.upper()
    if upper in names:
        return names[upper]
    if not token.isdigit() or not low <= int(token) <= high:
        raise ScheduleError(f"{expression}: {token!r} is not in {low}-{high}")
    return int(token)


def _values(expression: str, text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    names = names or {}
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        if slash and (not step_text.isdigit() or int(step_text) < 1):
            raise ScheduleError(f"{expression}: bad step in {part!r}")
        step = int(step_text) if slash else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, last_text = base.split("-", 1)
            first = _value(expression, first_text, low, high, names)
            last = _value(expression, last_text, low, high, names)
            if first > last:
                raise ScheduleError(f"{expression}: range {base!r} runs backwards")
        else:
            first = _value(expression, base, low, high, names)
            last = high if slash else first
        values.update(range(first, last + 1, step))
    return values


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(year: int, month: int, target: int) -> date:
    # "15W": the weekday nearest the 15th, never crossing into another month.
    last = calendar.monthrange(year, month)[1]
    day = date(year, month, min(target, last))
    if day.weekday() == 5:
        return day - timedelta(days=1) if day.day > 1 else day + timedelta(days=2)
    if day.weekday() == 6:
        return day + timedelta(days=1) if day.day < last else day - timedelta(days=2)
    return day


def _day_of_month_rule(expression: str, text: str) -> DayRule:
    if text == "L":
        return lambda d: d.day == _last_day(d)
    if text == "LW":
        return lambda d: d == _nearest_weekday(d.year, d.month, _last_day(d))
    nearest = re.fullmatch(r"(\d{1,2})W", text)
    if nearest:
        target = _value(expression, nearest.group(1), 1, 31, {})
        return lambda d: d == _nearest_weekday(d.year, d.month, target)
    days = _values(expression, text, 1, 31)
    return lambda d: d.day in days


def _aws_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # SUN=1 ... SAT=7


def _day_of_week_rule(expression: str, text: str) -> DayRule:
    if text == "L":
        return lambda d: _aws_weekday(d) == 7
    last = re.fullmatch(r"(\w+)L", text)
    if last:
        weekday = _value(expression, last.group(1), 1, 7, _WEEKDAYS)
        return lambda d: _aws_weekday(d) == weekday and d.day + 7 > _last_day(d)
    nth = re.fullmatch(r"(\w+)#([1-5])", text)
    if nth:
        weekday, n = _value(expression, nth.group(1), 1, 7, _WEEKDAYS), int(nth.group(2))
        return lambda d: _aws_weekday(d) == weekday and (d.day - 1) // 7 + 1 == n
    weekdays = _values(expression, text, 1, 7, _WEEKDAYS)
    return lambda d: _aws_weekday(d) in weekdays


@dataclass
class ScheduledJob:
    """A topology job as the scheduler tracks it."""

    name: str
    function: LocalFunction
    schedule: Rate | Cron
    expression: str
    rule_arn: str
    next_run: datetime | None = None
    last_run: datetime | None = None
    last_result: str | None = None
    runs: int = 0
    running: bool = field(default=False)

    def status(self) -> dict[str, Any]:
        def iso(at: datetime | None) -> str | None:
            return at.isoformat(timespec="seconds") if at else None

        return {
            "schedule": self.expression,
            "next_run": iso(self.next_run),
            "last_run": iso(self.last_run),
            "last_result": self.last_result,
            "runs": self.runs,
        }


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler(BackgroundLoop):
    """Fires each job when its schedule comes due, each run in its own thread."""

    kind = "scheduler"

    def __init__(
        self,
        jobs: list[ScheduledJob],
        *,
        region: str,
        clock: Callable[[], datetime] = utc_now,
        longest_rest: float = 30.0,
    ) -> None:
        super().__init__("jobs")
        self.jobs = jobs
        self.region = region
        self.clock = clock
        self.longest_rest = longest_rest
        self._planned = False
        self._runs: list[threading.Thread] = []

    def run_once(self) -> float:
        now = self.clock()
        if not self._planned:
            for job in self.jobs:
                job.next_run = job.schedule.next_after(now)
            self._planned = True
        for job in self.jobs:
            if job.next_run is not None and job.next_run <= now:
                self._fire(job, job.next_run)
                job.next_run = job.schedule.next_after(now)
        upcoming = [job.next_run for job in self.jobs if job.next_run is not None]
        if not upcoming:
            return self.longest_rest
        return max(0.0, min(self.longest_rest, (min(upcoming) - self.clock()).total_seconds()))

    def _fire(self, job: ScheduledJob, at: datetime) -> None:
        if job.running:
            log.warning("job %s: the run due at %s is skipped, the previous one is still going", job.name, at)
            return
        job.running = True
        self._runs = [run for run in self._runs if run.is_alive()]
        arguments = (job, at, self.region)
        run = threading.Thread(target=run_job, args=arguments, name=f"job:{job.name}", daemon=True)
        self._runs.append(run)
        run.start()

    def join(self, timeout: float) -> None:
        super().join(timeout)
        for run in self._runs:
            run.join(timeout)

    def status(self) -> dict[str, Any]:
        return super().status() | {"jobs": {job.name: job.status() for job in self.jobs}}


def run_job(job: ScheduledJob, at: datetime, region: str) -> Any:
    """Invoke one job with the event its schedule would send; errors are logged, not raised."""
    job.running = True
    job.last_run = at
    try:
        result = job.function.invoke(scheduled_event(rule_arn=job.rule_arn, region=region, at=at))
        job.last_result = "ok"
        return result
    except Exception as exc:  # a failing job must not stop the scheduler
        job.last_result = f"{type(exc).__name__}: {exc}"
        log.exception("job %s failed", job.name)
        return None
    finally:
        job.runs += 1
        job.running = False
