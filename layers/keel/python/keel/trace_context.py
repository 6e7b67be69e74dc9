"""The trace a request runs in, in the two forms that name it: W3C ``traceparent`` and X-Ray's header.

One sign-up is one trace: the API runs in a trace (X-Ray's in Lambda, the local gateway's locally),
every envelope written while it runs carries it as a W3C ``traceparent``, the outbox relay hands it
to EventBridge in X-Ray's form (``TraceHeader``) and every consumer continues it. Both forms name
the same trace: X-Ray's root ``1-<8 hex: epoch seconds>-<24 hex>`` is W3C's 32-hex trace id.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

#: ``00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>``, lowercase (W3C Trace Context, level 1).
TRACEPARENT_PATTERN = r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
_TRACEPARENT = re.compile(TRACEPARENT_PATTERN)
_XRAY_ROOT = re.compile(r"^1-([0-9a-f]{8})-([0-9a-f]{24})$")
_SPAN_ID = re.compile(r"^[0-9a-f]{16}$")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16


@dataclass(frozen=True)
class TraceContext:
    """A trace id (32 hex), the span that is the parent of what comes next (16 hex), and whether the
    trace is sampled (recorded by X-Ray)."""

    trace_id: str
    span_id: str
    sampled: bool = False

    @classmethod
    def new(cls, *, sampled: bool = False) -> TraceContext:
        """A new trace. Its id starts with the epoch seconds in hex, so that X-Ray accepts it as a root too."""
        return cls(f"{int(time.time()):08x}{secrets.token_hex(12)}", secrets.token_hex(8), sampled)

    def child(self) -> TraceContext:
        """The same trace, with a new span: the work that continues it (a consumer, a publication)."""
        return TraceContext(self.trace_id, secrets.token_hex(8), self.sampled)

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    @property
    def xray_header(self) -> str:
        """``Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>``: EventBridge's ``TraceHeader``."""
        root = f"1-{self.trace_id[:8]}-{self.trace_id[8:]}"
        return f"Root={root};Parent={self.span_id};Sampled={int(self.sampled)}"


def from_traceparent(value: str | None) -> TraceContext | None:
    """The trace of a W3C ``traceparent``; ``None`` when absent or malformed (all-zero ids are invalid)."""
    if not value or not _TRACEPARENT.match(value):
        return None
    _version, trace_id, span_id, flags = value.split("-")
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return TraceContext(trace_id, span_id, bool(int(flags, 16) & 1))


def from_xray(header: str | None) -> TraceContext | None:
    """The trace of an X-Ray header (``_X_AMZN_TRACE_ID`` in Lambda, ``X-Amzn-Trace-Id`` on a request);
    ``None`` without a valid ``Root``. Without a ``Parent`` the span is new."""
    if not header:
        return None
    fields = dict(part.strip().partition("=")[::2] for part in header.split(";") if "=" in part)
    root = _XRAY_ROOT.match(fields.get("Root", "").lower())
    if root is None:
        return None
    parent = fields.get("Parent", "").lower()
    span_id = parent if _SPAN_ID.match(parent) and parent != _ZERO_SPAN else secrets.token_hex(8)
    return TraceContext(root.group(1) + root.group(2), span_id, fields.get("Sampled") == "1")
