"""Webhook deliveries: signed as Stripe signs them, sent by a background thread, retried with backoff.

Signature (Stripe's scheme): ``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``
over the exact bytes sent; each attempt is signed afresh with the time of that attempt.

A delivery succeeds on any 2xx. Anything else (another status, a refused connection, a timeout)
is retried after ``first_retry_seconds``, then ``backoff_factor`` times longer each time, up to
``max_attempts`` attempts; later events do not wait for an earlier one's retries (Stripe does not
order deliveries either). Every attempt lands in the delivery log.

Chaos: each batch of events (what one API call or one billing step emitted) is delivered twice,
in a shuffled order.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import http.client
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from infra.local.stripe.settings import DeliveryPolicy
from infra.local.stripe.store import Obj

log = logging.getLogger("keel.local.stripe")
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
MAX_LOG = 10_000


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header for ``payload`` at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def payload_of(event: Obj) -> bytes:
    """An event as Stripe sends it: pretty-printed JSON."""
    return json.dumps(event, indent=2).encode()


@dataclass(frozen=True)
class Target:
    """Where events go: a webhook endpoint's id, URL, secret and the event types it wants."""

    endpoint_id: str
    url: str
    secret: str
    enabled_events: tuple[str, ...]

    def wants(self, event_type: str) -> bool:
        return "*" in self.enabled_events or event_type in self.enabled_events


@dataclass(order=True)
class _Job:
    due: float
    order: int
    event_id: str = field(compare=False)
    event_type: str = field(compare=False)
    payload: bytes = field(compare=False)
    target: Target = field(compare=False)
    attempt: int = field(compare=False, default=1)


class Dispatcher:
    """The delivery queue, its worker thread and the delivery log."""

    def __init__(
        self,
        policy: DeliveryPolicy,
        targets: Callable[[], list[Target]],
        *,
        chaos: bool = False,
        seed: int | None = None,
        on_delivered: Callable[[str], None] = lambda event_id: None,
    ) -> None:
        self.policy = policy
        self.chaos = chaos
        self._targets = targets
        self._random = random.Random(seed)  # noqa: S311 - shuffling deliveries, not secrets
        self._on_delivered = on_delivered
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._order = 0
        self._busy = 0
        self._log: list[dict[str, Any]] = []
        self._seq = 0
        self._stopped = False
        self._thread: threading.Thread | None = None

    def interested(self, event_type: str) -> int:
        """How many endpoints will be sent an event of this type."""
        return sum(1 for target in self._targets() if target.wants(event_type))

    def submit(self, events: list[Obj]) -> None:
        """Queue each event for each endpoint that wants it (twice and shuffled under chaos)."""
        targets = self._targets()
        jobs = [(event, target) for event in events for target in targets if target.wants(event["type"])]
        if self.chaos:
            jobs = [job for job in jobs for _ in range(2)]
            self._random.shuffle(jobs)
        now = time.monotonic()
        with self._cond:
            for event, target in jobs:
                self._order += 1
                job = _Job(now, self._order, event["id"], event["type"], payload_of(event), target)
                heapq.heappush(self._queue, job)
            self._cond.notify_all()

    # -- the worker ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stripe-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(self.policy.timeout_seconds + 1)
            self._thread = None

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._queue or self._queue[0].due > time.monotonic()):
                    wait = self._queue[0].due - time.monotonic() if self._queue else None
                    self._cond.wait(wait)
                if self._stopped:
                    return
                job = heapq.heappop(self._queue)
                self._busy += 1
            try:
                self._deliver(job)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _deliver(self, job: _Job) -> None:
        started = time.monotonic()
        status, error, body = _post(job.target, job.payload, self.policy.timeout_seconds)
        delivered = status is not None and 200 <= status < 300
        retry = not delivered and job.attempt < self.policy.max_attempts
        delay = self.policy.delay_before(job.attempt + 1) if retry else None
        record = {
            "event": job.event_id,
            "type": job.event_type,
            "endpoint": job.target.endpoint_id,
            "url": job.target.url,
            "attempt": job.attempt,
            "status": status,
            "error": error,
            "response": body,
            "outcome": "delivered" if delivered else ("retrying" if retry else "failed"),
            "next_attempt_in": delay,
            "at": time.time(),
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        }
        with self._cond:
            self._seq += 1
            self._log.append({"seq": self._seq, **record})
            del self._log[:-MAX_LOG]
            if retry and delay is not None:
                self._order += 1
                again = _Job(
                    time.monotonic() + delay, self._order, job.event_id, job.event_type, job.payload, job.target
                )
                again.attempt = job.attempt + 1
                heapq.heappush(self._queue, again)
            self._cond.notify_all()
        log.info(
            "webhook %s %s -> %s attempt %d: %s",
            job.event_type,
            job.target.url,
            status if status is not None else error,
            job.attempt,
            record["outcome"],
        )
        if delivered:
            self._on_delivered(job.event_id)

    # -- the log -------------------------------------------------------------------------------

    def deliveries(self, after: int = 0) -> list[dict[str, Any]]:
        """Every delivery attempt with ``seq`` greater than ``after``, oldest first."""
        with self._cond:
            return [dict(entry) for entry in self._log if entry["seq"] > after]

    def wait_for(self, after: int, timeout: float) -> list[dict[str, Any]]:
        """Long-poll: the attempts after ``after``, waiting up to ``timeout`` s for the first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (self._log and self._log[-1]["seq"] > after) and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
        return self.deliveries(after)

    def idle(self) -> bool:
        with self._cond:
            return not self._queue and self._busy == 0

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or being sent (retries still to come count as queued)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._queue or self._busy) and time.monotonic() < deadline:
                self._cond.wait(max(0.0, min(0.1, deadline - time.monotonic())))
            return not self._queue and self._busy == 0


def _post(target: Target, payload: bytes, timeout: float) -> tuple[int | None, str | None, str | None]:
    """POST one signed delivery: (status, error, the start of the response body)."""
    url = urlsplit(target.url)
    connection_type = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(url.hostname or "127.0.0.1", url.port, timeout=timeout)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Cache-Control": "no-cache",
        "Accept": "*/*; q=0.5, application/xml",
        "Stripe-Signature": sign(payload, target.secret, int(time.time())),
    }
    try:
        connection.request("POST", path, body=payload, headers=headers)
        response = connection.getresponse()
        body = response.read(2000).decode("utf-8", "replace")
        return response.status, None, body[:500]
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}", None
    finally:
        connection.close()
