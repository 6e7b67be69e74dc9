"""``StripeEmulator``: the account, its HTTP server, the webhook dispatcher and the clocks, started together."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from infra.local.stripe import clock, resources
from infra.local.stripe.account import Account
from infra.local.stripe.server import Fault, StripeApp, StripeServer
from infra.local.stripe.settings import EmulatorSettings
from infra.local.stripe.store import Obj
from infra.local.stripe.webhooks import Dispatcher, Target

log = logging.getLogger("keel.local.stripe")


class StripeEmulator:
    """A local Stripe test-mode account over HTTP (``url``), for ``keel dev`` and the tests.

    ``start()`` binds the port (``settings.port``, 0 for a free one), starts the webhook worker
    and the wall-clock ticker; ``stop()`` stops them. Pending deliveries are dropped on stop.
    """

    def __init__(self, settings: EmulatorSettings | None = None) -> None:
        self.settings = settings or EmulatorSettings()
        self.account = Account(self.settings)
        self.dispatcher = Dispatcher(
            self.settings.delivery,
            self._targets,
            chaos=self.settings.chaos,
            seed=self.settings.chaos_seed,
            on_delivered=self._delivered,
        )
        self.account.sink = self.dispatcher.submit
        self.account.interested = self.dispatcher.interested
        self.account.background = self._in_background
        with self.account.lock:
            for target in self.settings.webhooks:
                resources.create_endpoint(
                    self.account, url=target.url, secret=target.secret, enabled_events=list(target.enabled_events)
                )
        self.app = StripeApp(self.account, self.dispatcher)
        self._server: StripeServer | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> StripeEmulator:
        self._server = StripeServer(self.app, self.settings.host, self.settings.port)
        self.account.base_url = self._server.url
        self._server.start()
        self.dispatcher.start()
        self._in_background("stripe-ticker", self._tick)
        log.info("local Stripe emulator on %s", self.url)
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.dispatcher.stop()
        for thread in self._threads:
            thread.join(5)
        self._threads.clear()

    def __enter__(self) -> StripeEmulator:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL (``http://127.0.0.1:<port>``): ``StripeClient(base_addresses={"api": url})``."""
        if self._server is None:
            raise RuntimeError("the Stripe emulator is not started")
        return self._server.url

    def is_serving(self) -> bool:
        return self._server is not None and self.dispatcher.is_running()

    # -- conveniences for tests and ``keel stripe`` ---------------------------------------------

    def add_webhook(self, url: str, secret: str | None = None, enabled_events: tuple[str, ...] = ("*",)) -> Obj:
        """Register a webhook endpoint; the answer carries its signing ``secret``."""
        with self.account.lock:
            endpoint = resources.create_endpoint(
                self.account, url=url, secret=secret, enabled_events=list(enabled_events)
            )
            return {**endpoint, "secret": self.account.endpoint_secrets[endpoint["id"]]}

    def deliveries(self, after: int = 0) -> list[dict[str, Any]]:
        """The delivery log: every attempt, oldest first."""
        return self.dispatcher.deliveries(after)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Wait until no delivery is queued, in flight or waiting for a retry."""
        return self.dispatcher.wait_idle(timeout)

    def set_chaos(self, enabled: bool) -> None:
        self.dispatcher.chaos = enabled

    def inject_fault(self, status: int | None, *, count: int = 1, path: str = "/v1/", delay: float = 0.0) -> None:
        """The next ``count`` API requests under ``path`` wait ``delay`` s, then answer ``status`` (if any)."""
        with self.app.controls.lock:
            self.app.controls.faults.append(Fault(status, count, path, delay))

    def wait_for_clock(self, clock_id: str, timeout: float = 10.0) -> Obj:
        """Wait until a test clock is ``ready`` again after an advance."""
        deadline = time.monotonic() + timeout
        while True:
            with self.account.lock:
                found = self.account.store.find(clock_id)
                if found is None or found["status"] != "advancing":
                    return dict(found or {})
            if time.monotonic() > deadline:
                raise TimeoutError(f"test clock {clock_id} still advancing after {timeout} s")
            time.sleep(0.01)

    # -- internals -----------------------------------------------------------------------------

    def _targets(self) -> list[Target]:
        return [
            Target(
                endpoint["id"],
                endpoint["url"],
                self.account.endpoint_secrets[endpoint["id"]],
                tuple(endpoint["enabled_events"]),
            )
            for endpoint in self.account.store.all("webhook_endpoint")
            if endpoint["status"] == "enabled"
        ]

    def _delivered(self, event_id: str) -> None:
        with self.account.lock:
            event = self.account.store.find(event_id)
            if event is not None and event["pending_webhooks"] > 0:
                event["pending_webhooks"] -= 1

    def _in_background(self, name: str, work: Callable[[], None]) -> None:
        thread = threading.Thread(target=work, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _tick(self) -> None:
        while not self._stopping.wait(self.settings.tick_seconds):
            try:
                clock.run_due(self.account, None, int(self.account.wall()))
            except Exception:
                log.exception("stripe emulator: wall-clock billing step failed")
