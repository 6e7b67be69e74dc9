"""Prefixed ULIDs: ``ten_01JD3Q...``. Sortable by creation time, safe in URLs, typed by prefix."""

from __future__ import annotations

import re
from datetime import datetime

_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,7}$")
_ULID = "[0-9A-HJKMNP-TV-Z]{26}"


def new_id(prefix: str, at: datetime | None = None) -> str:
    """A new id such as ``usr_01JD3Q4Z6M8N9P0R1S2T3V4W5X``; ``at`` pins its time part."""
    # python-ulid is loaded on the first new id: checking ids (every handler) must not pay for it.
    from ulid import ULID  # noqa: PLC0415

    if not _PREFIX.match(prefix):
        raise ValueError(f"invalid id prefix {prefix!r}")
    ulid = ULID.from_datetime(at) if at is not None else ULID()
    return f"{prefix}_{ulid}"


def is_id(prefix: str, value: str) -> bool:
    """Whether ``value`` is a well-formed id of the given prefix (the cheap check before a lookup)."""
    return re.fullmatch(f"{re.escape(prefix)}_{_ULID}", value) is not None
