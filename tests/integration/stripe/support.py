"""Helpers for tests that drive the local Stripe emulator over HTTP, as a person or the SDK would."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode, urlsplit

import stripe

from infra.local.stripe import DeliveryPolicy, EmulatorSettings, StripeEmulator, WebhookTarget

SECRET = "whsec_test_emulator_secret"
API_KEY = "sk_test_emulator"
#: Webhook retries in tens of milliseconds, so retry tests stay fast.
FAST = DeliveryPolicy(first_retry_seconds=0.05, backoff_factor=2.0, max_attempts=4, timeout_seconds=2.0)
DAY = 86400
JAN_1_2030 = 1893456000


@dataclass
class Delivery:
    signature: str
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """A webhook endpoint: records every delivery, answers ``script``'s statuses first, then 200."""

    script: list[int] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}/webhooks/stripe"

    def answer(self, signature: str, body: bytes) -> int:
        with self.lock:
            status = self.script.pop(0) if self.script else 200
            self.deliveries.append(Delivery(signature, body, status))
            return status

    def events(self) -> list[dict[str, Any]]:
        """Events received with a 2xx answer, in arrival order."""
        with self.lock:
            return [d.event for d in self.deliveries if 200 <= d.status < 300]

    def types(self) -> list[str]:
        return [event["type"] for event in self.events()]

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.answer(self.headers.get("Stripe-Signature", ""), body)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def start_emulator(receiver: Receiver | None, **overrides: Any) -> StripeEmulator:
    webhooks = (WebhookTarget(receiver.url, SECRET),) if receiver else ()
    settings = EmulatorSettings(**{"delivery": FAST, "webhooks": webhooks, "tick_seconds": 0.05, **overrides})
    return StripeEmulator(settings).start()


def sdk(emulator: StripeEmulator) -> stripe.StripeClient:
    """A real ``StripeClient`` pointed at the emulator."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url}, max_network_retries=0)


def raw(
    emulator: StripeEmulator,
    method: str,
    path: str,
    body: str | dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    *,
    key: str | None = API_KEY,
) -> tuple[int, dict[str, str], Any]:
    """One HTTP request; the JSON answer (or the text of a page)."""
    url = urlsplit(emulator.url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    payload = urlencode(body) if isinstance(body, dict) else body
    sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    try:
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        data = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()
    decoded: Any = (
        json.loads(data) if found.get("content-type", "").startswith("application/json") else data.decode("latin-1")
    )
    return response.status, found, decoded


def pay_checkout(
    emulator: StripeEmulator, url: str, card: str = "4242424242424242", email: str = ""
) -> tuple[int, str]:
    """Open the checkout page as a browser would and press "Pay": (status, Location or page)."""
    path = urlsplit(url).path
    status, _, page = raw(emulator, "GET", path, key=None)
    assert status == 200, page
    assert re.search(r"<form method='post'>", page)
    assert "<button>Pay</button>" in page
    fields = {"card": card, **({"email": email} if email else {})}
    status, headers, answer = raw(emulator, "POST", path, fields, key=None)
    return status, headers.get("location") or str(answer)


def advance(client: stripe.StripeClient, clock_id: str, to: int, timeout: float = 15.0) -> Any:
    """Advance a test clock through the SDK and poll until it is ready again, as against Stripe."""
    clock = client.v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": to})
    assert clock.status == "advancing"
    deadline = time.monotonic() + timeout
    while clock.status == "advancing":
        assert time.monotonic() < deadline, "the test clock never became ready"
        time.sleep(0.01)
        clock = client.v1.test_helpers.test_clocks.retrieve(clock_id)
    assert clock.status == "ready", clock
    return clock


def eventually(check: Callable[[], Any], *, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def clock_customer(
    client: stripe.StripeClient, *, start: int = JAN_1_2030, card: str = "pm_card_visa"
) -> tuple[Any, Any]:
    """A test clock at ``start`` and a customer on it with a default card."""
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": start, "name": "test"})
    customer = client.v1.customers.create(
        params={
            "email": "ada@example.com",
            "test_clock": clock.id,
            "payment_method": card,
            "invoice_settings": {"default_payment_method": card},
        }
    )
    return clock, customer


def subscribe(client: stripe.StripeClient, customer_id: str, price: str = "price_pro_monthly", **extra: Any) -> Any:
    return client.v1.subscriptions.create(params={"customer": customer_id, "items": [{"price": price}], **extra})


def fail_next_payments(client: stripe.StripeClient, customer_id: str, count: int) -> None:
    client.raw_request("post", f"/v1/test_helpers/customers/{customer_id}/fail_next_payment", count=count)


def event_types(client: stripe.StripeClient, **filters: Any) -> list[str]:
    """Every event the account emitted, oldest first."""
    found = client.v1.events.list(params={"limit": 100, **filters})
    types = [event.type for event in found.auto_paging_iter()]
    return list(reversed(types))
