"""What ``keel dev`` shows of what happens: one readable console line per request and per event, and
the chain each correlation id caused (``GET /_local/traces/{correlation_id}``, ``keel trace``).

``Traces`` is fed from two sides: the local gateway tells it each request it answered (method, path,
status, time, including those refused before any handler), and it watches the kernel's activity lines
(``keel.observability.watch``): each API request's route, tenant and user, each event the relay
published, each event a consumer handled with its outcome and attempt. Emails SES "sent" are
attributed to the correlation id of the work that sent them (``emails_seen``).

It keeps the last ``capacity`` correlation ids (the oldest is forgotten first) and at most
``MAX_STEPS`` steps for each, so a dev server that runs for days stays small.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.model import Topology
from keel import observability

#: Correlation ids kept (a ring: the oldest goes first).
CAPACITY = 1000
#: Requests, events, deliveries and emails kept per correlation id (a caller may reuse one forever).
MAX_STEPS = 200
#: Kernel request lines waiting for the gateway's answer to the same request.
_PENDING_REQUESTS = 256
#: What a terminal would act on: paths and correlation ids come from callers.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with each control character written as its escape, so no caller drives the terminal."""
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


@dataclass(frozen=True)
class RequestSeen:
    """A request as the local gateway answered it."""

    method: str
    path: str
    status: int
    duration_ms: float
    request_id: str
    correlation_id: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Chain:
    """What one correlation id caused so far."""

    correlation_id: str
    trace_id: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    events: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    emails: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    truncated: bool = False

    def room(self) -> bool:
        """Whether one more step may be kept (counting it)."""
        if self.steps >= MAX_STEPS:
            self.truncated = True
            return False
        self.steps += 1
        return True

    def event(self, event_id: str, event_type: str | None, tenant_id: str | None) -> dict[str, Any]:
        found = self.events.get(event_id)
        if found is None:
            found = {"id": event_id, "type": event_type, "tenant_id": tenant_id, "published_at": None, "deliveries": []}
            self.events[event_id] = found
        return found


class Traces:
    """The chains of the last ``capacity`` correlation ids; ``show`` prints the console lines."""

    def __init__(
        self,
        topology: Topology,
        *,
        show: Callable[[str], None] | None = None,
        capacity: int = CAPACITY,
        sent_emails: Callable[[], list[dict[str, Any]]] = list,
    ) -> None:
        self.capacity = capacity
        self._show = show
        self._sent_emails = sent_emails
        self._lock = threading.Lock()
        self._chains: OrderedDict[str, _Chain] = OrderedDict()
        self._handled: OrderedDict[str, Mapping[str, Any]] = OrderedDict()
        self._consumers = {ctx.queue_name(sub): f"{ctx.name} {sub.name}" for ctx, sub in topology.subscriptions}

    # -- what comes in ------------------------------------------------------------------------------

    def request(self, seen: RequestSeen) -> None:
        """The gateway answered a request (local pages are not shown)."""
        if seen.path == "/_local" or seen.path.startswith("/_local/"):
            return
        with self._lock:
            handled = self._handled.pop(seen.request_id, {})
            chain = self._chain(seen.correlation_id, handled.get("trace_id"))
            entry = {
                "at": _now(),
                "method": seen.method,
                "path": seen.path,
                "route": handled.get("route"),
                "status": seen.status,
                "duration_ms": round(seen.duration_ms, 1),
                "tenant_id": handled.get("tenant_id"),
                "user_id": handled.get("user_id"),
                "request_id": seen.request_id,
            }
            if chain.room():
                chain.requests.append(entry)
        tenant = entry["tenant_id"] or "-"
        self._say(
            f"{seen.method} {seen.path} {seen.status} {seen.duration_ms:.0f} ms {tenant} corr={seen.correlation_id}"
        )

    def activity(self, message: str, fields: Mapping[str, Any]) -> None:
        """A kernel activity line (``keel.observability.watch``)."""
        if message == "request":
            with self._lock:
                self._handled[str(fields.get("request_id"))] = fields
                while len(self._handled) > _PENDING_REQUESTS:
                    self._handled.popitem(last=False)
        elif message == "event published":
            self._published(fields)
        elif message == "event consumed":
            self._consumed(fields)

    def email(self, message_id: str) -> None:
        """SES accepted an email while the current work (its correlation id) was running."""
        correlation_id = observability.correlation_id()
        if not correlation_id:
            return
        with self._lock:
            chain = self._chain(correlation_id, None)
            if chain.room():
                chain.emails.append({"id": message_id, "at": _now()})
        self._say(f"email {message_id} sent corr={correlation_id}")

    # -- what goes out ------------------------------------------------------------------------------

    def chain(self, correlation_id: str) -> dict[str, Any] | None:
        """What one correlation id caused, as JSON; ``None`` when it is unknown (or forgotten)."""
        with self._lock:
            chain = self._chains.get(correlation_id)
            if chain is None:
                return None
            emails = [dict(m) for m in chain.emails]
            shaped: dict[str, Any] = {
                "correlation_id": chain.correlation_id,
                "trace_id": chain.trace_id,
                "requests": [dict(r) for r in chain.requests],
                "events": [{**e, "deliveries": [dict(d) for d in e["deliveries"]]} for e in chain.events.values()],
                "emails": emails,
                "truncated": chain.truncated,
            }
        if emails:  # what SES was given, read from moto outside the lock
            sent = {m["id"]: m for m in self._sent_emails()}
            for mail in emails:
                found = sent.get(mail["id"], {})
                mail |= {
                    "from": found.get("source"),
                    "to": _addresses(found.get("destinations")),
                    "subject": found.get("subject"),
                }
        return shaped

    # -- inside -------------------------------------------------------------------------------------

    def _chain(self, correlation_id: str, trace_id: str | None) -> _Chain:
        chain = self._chains.get(correlation_id)
        if chain is None:
            chain = self._chains[correlation_id] = _Chain(correlation_id)
            while len(self._chains) > self.capacity:
                self._chains.popitem(last=False)
        else:
            self._chains.move_to_end(correlation_id)
        chain.trace_id = chain.trace_id or trace_id
        return chain

    def _published(self, fields: Mapping[str, Any]) -> None:
        correlation_id = fields.get("correlation_id")
        if not correlation_id:
            return
        with self._lock:
            chain = self._chain(str(correlation_id), fields.get("trace_id"))
            if str(fields.get("event_id")) not in chain.events and not chain.room():
                return
            event = chain.event(str(fields.get("event_id")), fields.get("event_type"), fields.get("tenant_id"))
            event["published_at"] = event["published_at"] or _now()
        self._say(f"{fields.get('event_type')} published {fields.get('tenant_id') or '-'} corr={correlation_id}")

    def _consumed(self, fields: Mapping[str, Any]) -> None:
        correlation_id = fields.get("correlation_id")
        function = fields.get("function_name")
        consumer = self._consumers.get(str(function), str(fields.get("service")))
        attempt = int(fields.get("attempt") or 1)
        line = (
            f"{fields.get('event_type') or 'an unreadable event'} -> {consumer} {fields.get('outcome')} "
            f"{float(fields.get('duration_ms') or 0):.0f} ms"
            + (f" (attempt {attempt})" if attempt > 1 else "")
            + (f" corr={correlation_id}" if correlation_id else "")
        )
        if correlation_id and fields.get("event_id"):
            with self._lock:
                chain = self._chain(str(correlation_id), fields.get("trace_id"))
                if chain.room():
                    event = chain.event(str(fields["event_id"]), fields.get("event_type"), fields.get("tenant_id"))
                    event["deliveries"].append(
                        {
                            "consumer": consumer,
                            "function": function,
                            "outcome": fields.get("outcome"),
                            "attempt": attempt,
                            "duration_ms": fields.get("duration_ms"),
                            "at": _now(),
                        }
                    )
        self._say(line)

    def _say(self, line: str) -> None:
        if self._show is not None:
            self._show(f"{time.strftime('%H:%M:%S')}  {printable(line)}")


@contextmanager
def watching(traces: Traces) -> Iterator[None]:
    """Feed ``traces`` with the kernel's activity lines while inside."""
    observability.watch(traces.activity)
    try:
        yield
    finally:
        observability.unwatch(traces.activity)


def _addresses(destinations: Any) -> list[str]:
    """Every recipient: SES's ``Destination`` ({"ToAddresses": [...], ...}) or a raw email's list."""
    if isinstance(destinations, Mapping):
        return [
            address
            for kind in ("ToAddresses", "CcAddresses", "BccAddresses")
            for address in destinations.get(kind) or []
        ]
    return [str(address) for address in destinations or []]


# -- how a chain reads -----------------------------------------------------------------------------------


def as_text(chain: Mapping[str, Any]) -> list[str]:
    """A chain as terminal lines (``keel trace``)."""
    out = [f"correlation id {chain['correlation_id']}" + (f"  trace {chain['trace_id']}" if chain["trace_id"] else "")]
    for r in chain["requests"]:
        route = f" ({r['route']})" if r.get("route") and r["route"] != r["path"] else ""
        out.append(
            f"  {r['at']}  {r['method']} {r['path']}{route} {r['status']} {r['duration_ms']:.0f} ms "
            f"{r.get('tenant_id') or '-'}"
        )
    for e in chain["events"]:
        out.append(f"  {e.get('published_at') or '-'}  {e['type']} {e['id']} {e.get('tenant_id') or '-'}")
        for d in e["deliveries"]:
            attempt = f" (attempt {d['attempt']})" if d["attempt"] > 1 else ""
            out.append(f"      -> {d['consumer']} {d['outcome']} {float(d['duration_ms'] or 0):.0f} ms{attempt}")
    for m in chain["emails"]:
        to = ", ".join(m.get("to") or []) or "?"
        out.append(f"  {m['at']}  email to {to}: {m.get('subject') or ''}".rstrip())
    if chain["truncated"]:
        out.append(f"  ... (more than {MAX_STEPS} steps: the rest was not kept)")
    return [printable(line) for line in out]


def as_html(chain: Mapping[str, Any]) -> str:
    """A chain as a small self-contained page (everything escaped: ids and paths come from callers)."""

    def e(value: Any) -> str:
        return html.escape("" if value is None else str(value))

    rows = [
        f"<tr><td>{e(r['at'])}</td><td>request</td><td>{e(r['method'])} {e(r['path'])}</td>"
        f"<td>{e(r['status'])}</td><td>{e(r['duration_ms'])} ms</td><td>{e(r.get('tenant_id'))}</td></tr>"
        for r in chain["requests"]
    ]
    for event in chain["events"]:
        rows.append(
            f"<tr><td>{e(event.get('published_at'))}</td><td>event</td><td>{e(event['type'])}<br>"
            f"<small>{e(event['id'])}</small></td><td></td><td></td><td>{e(event.get('tenant_id'))}</td></tr>"
        )
        rows += [
            f"<tr><td>{e(d['at'])}</td><td>&rarr; consumer</td><td>{e(d['consumer'])}</td>"
            f"<td>{e(d['outcome'])}</td><td>{e(d['duration_ms'])} ms</td><td>attempt {e(d['attempt'])}</td></tr>"
            for d in event["deliveries"]
        ]
    rows += [
        f"<tr><td>{e(m['at'])}</td><td>email</td><td>{e(', '.join(m.get('to') or []))}</td>"
        f"<td colspan=3>{e(m.get('subject'))}</td></tr>"
        for m in chain["emails"]
    ]
    title = f"Trace of {e(chain['correlation_id'])}"
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{title}</title><style>body{{font:14px system-ui,sans-serif;margin:2em}}"
        "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}"
        "small{color:#666}</style></head><body>"
        f"<h1>{title}</h1><p>trace {e(chain['trace_id'])}</p>"
        "<table><tr><th>at</th><th>what</th><th></th><th>status / outcome</th><th>took</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
        + (f"<p>More than {MAX_STEPS} steps: the rest was not kept.</p>" if chain["truncated"] else "")
        + "</body></html>"
    )


@contextmanager
def emails_seen(traces: Traces) -> Iterator[None]:
    """Attribute each email SES (v1 or v2) accepts to the work that sent it, while inside.

    A botocore handler on every session made meanwhile (the kernel makes one per client, after the
    runtime has reset its clients): it runs in the sending handler's thread, so the correlation id
    bound there is the email's."""
    import botocore.handlers

    def sent(parsed: Any = None, model: Any = None, **_: Any) -> None:
        if model is not None and model.name.startswith("Send") and isinstance(parsed, dict):
            message_id = parsed.get("MessageId")
            if isinstance(message_id, str):
                traces.email(message_id)

    specs = [("after-call.ses", sent), ("after-call.sesv2", sent)]
    botocore.handlers.BUILTIN_HANDLERS.extend(specs)
    try:
        yield
    finally:
        for spec in specs:
            botocore.handlers.BUILTIN_HANDLERS.remove(spec)
