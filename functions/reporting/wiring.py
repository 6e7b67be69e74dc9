"""Builds the reporting context's services from settings, once per container (nothing at import).

Each builder imports what it builds, so a handler's cold start pays only for what its first request
uses; each is cached per settings object, so when the kernel forgets its settings
(``keel.reset_caches()``: tests, the local runtime) the services are rebuilt from the new ones.
"""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING

from keel import settings

if TYPE_CHECKING:
    from functions.reporting.adapters.versions import VersionPointer, Versions
    from functions.reporting.domain.facts import Fact
    from functions.reporting.domain.projector import Applied, Projector
    from functions.reporting.domain.reports import ReportService
    from functions.reporting.settings import ReportingSettings

# ruff: noqa: PLC0415 - the imports inside the builders below are the point of this module


def config() -> ReportingSettings:
    from functions.reporting.settings import ReportingSettings

    return settings.load(ReportingSettings)


@cache
def _pointer(cfg: ReportingSettings) -> VersionPointer:
    from functions.reporting.adapters.versions import VersionPointer

    return VersionPointer(cfg.table)


def pointer() -> VersionPointer:
    return _pointer(config())


class _ReadVersion:
    """The version reads use, asked again once it is older than the setting (a switch reaches every
    container within it, and a report costs its one Query, not a second read, the rest of the time)."""

    def __init__(self, pointer: VersionPointer, ttl: float) -> None:
        self._pointer, self._ttl = pointer, ttl
        self._known: tuple[float, int] | None = None

    def __call__(self) -> int:
        now = time.monotonic()
        if self._known is None or now - self._known[0] > self._ttl:
            self._known = (now, self._pointer.read().current)
        return self._known[1]


@cache
def _read_version(cfg: ReportingSettings) -> _ReadVersion:
    return _ReadVersion(_pointer(cfg), cfg.version_cache_seconds)


def reports() -> ReportService:
    """The reports, over the version reads use now."""
    cfg = config()
    return _reports(cfg, _read_version(cfg)())


@cache
def _reports(cfg: ReportingSettings, version: int) -> ReportService:
    from functions.reporting.adapters.store import ModelTable
    from functions.reporting.domain.reports import ReportService

    return ReportService(ModelTable(cfg.table, version))


@cache
def _projector(cfg: ReportingSettings, version: int) -> Projector:
    from functions.reporting.adapters.store import ModelTable
    from functions.reporting.domain.projector import Projector

    return Projector(ModelTable(cfg.table, version))


def apply(fact: Fact, versions: tuple[int, ...]) -> Applied:
    """Apply ``fact`` to each of ``versions``: ``ok`` if any of them did not hold it yet."""
    outcomes = [_projector(config(), version).apply(fact) for version in versions]
    return "ok" if "ok" in outcomes else "duplicate"


def live_versions() -> Versions:
    """The versions new events go to, read now (a rebuild may just have started or finished)."""
    return pointer().read()
