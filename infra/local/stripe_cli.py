"""``keel stripe``: the running ``keel dev``'s Stripe emulator from the command line.

    keel stripe listen                    print every webhook delivery as it happens (Ctrl-C stops)
    keel stripe trigger SCENARIO          make Stripe emit a scenario's events for a tenant
    keel stripe advance --days N          move a tenant's test clock (or every clock) N days on
    keel stripe chaos on|off              deliver every event twice, shuffled (or stop)
    keel stripe sync [--tenant ID]        compare tenants with Stripe and repair them, with a progress bar

``keel dev`` puts every Stripe customer billing makes on a test clock of its own, so ``advance``
renews, ends trials and retries payments for it exactly as Stripe's test clocks do. The commands
talk to the emulator over HTTP with the ``stripe`` SDK (as billing does); ``sync`` runs billing's
reconciliation in this process, against the dev server's moto and emulator.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infra.local.environment import applied
from infra.topology import Topology

#: The local emulator accepts any ``sk_test_`` key.
KEY = "sk_test_keel_cli"
DAY = 86400
#: Billing's on-demand repair: ``sync(tenant, progress=...)`` in this module of the context using Stripe.
SYNC_MODULE = "handlers.reconcile"


class StripeCommandError(Exception):
    """Something the person at the keyboard can fix (printed without a traceback)."""


@dataclass(frozen=True)
class Scenario:
    what: str
    run: Callable[[Any, str], list[str]]


def _client(url: str) -> Any:
    import stripe

    return stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)


def _local(url: str, method: str, path: str, fields: dict[str, str] | None = None) -> Any:
    data = urllib.parse.urlencode(fields).encode() if fields is not None else None
    request = urllib.request.Request(f"{url}{path}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=40) as response:
        return json.loads(response.read())


# -- listen -----------------------------------------------------------------------------------------


def delivery_line(entry: dict[str, Any]) -> str:
    """One delivery attempt as ``keel stripe listen`` prints it."""
    at = datetime.fromtimestamp(entry["at"], UTC).strftime("%H:%M:%S")
    answer = entry["status"] if entry["status"] is not None else entry["error"]
    retry = f" (again in {entry['next_attempt_in']:.0f} s)" if entry["outcome"] == "retrying" else ""
    return (
        f"{at}  {entry['type']:<40} {entry['event']}  -> {answer} [{entry['outcome']}{retry}]"
        f"  attempt {entry['attempt']}, {entry['duration_ms']} ms"
    )


def listen(url: str, say: Callable[[str], None], *, once: bool = False, wait: float = 10.0) -> int:
    """Print deliveries as they happen (long-polling the emulator's delivery log); ``once``: what is there now."""
    after = 0 if once else max((e["seq"] for e in _local(url, "GET", "/_local/deliveries")["deliveries"]), default=0)
    if not once:
        say(f"Listening to Stripe's webhook deliveries ({url}); Ctrl-C stops.")
    while True:
        found = _local(url, "GET", f"/_local/deliveries?after={after}&wait={0 if once else wait}")["deliveries"]
        for entry in found:
            say(delivery_line(entry))
            after = max(after, entry["seq"])
        if once:
            return len(found)


# -- trigger ------------------------------------------------------------------------------------------


def customer_of(client: Any, tenant: str | None) -> Any:
    """The Stripe customer billing made for ``tenant`` (or the newest one)."""
    for customer in client.v1.customers.list(params={"limit": 100}).auto_paging_iter():
        if tenant is None or customer.metadata.to_dict().get("tenant_id") == tenant:
            return customer
    raise StripeCommandError(
        f"no Stripe customer for tenant {tenant}: check out a plan first (POST /v1/billing/checkout)"
        if tenant
        else "there is no Stripe customer yet: check out a plan first (POST /v1/billing/checkout)"
    )


def _live_subscription(client: Any, customer: Any) -> Any:
    subs = client.v1.subscriptions.list(params={"customer": customer.id, "limit": 1}).data
    if not subs:
        raise StripeCommandError(f"customer {customer.id} has no live subscription: check out a plan first")
    return subs[0]


def _clock_time(client: Any, customer: Any) -> int:
    if not customer.test_clock:
        return int(time.time())
    return int(client.v1.test_helpers.test_clocks.retrieve(customer.test_clock).frozen_time)


def _advance_clock(client: Any, clock_id: str, to: int) -> None:
    client.v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": to})
    deadline = time.monotonic() + 60
    while client.v1.test_helpers.test_clocks.retrieve(clock_id).status == "advancing":
        if time.monotonic() > deadline:
            raise StripeCommandError(f"test clock {clock_id} is still advancing after 60 s")
        time.sleep(0.05)


def _payment_failed(client: Any, customer: Any) -> list[str]:
    sub = _live_subscription(client, customer)
    client.raw_request("post", f"/v1/test_helpers/customers/{customer.id}/fail_next_payment", count=1)
    if not customer.test_clock:
        raise StripeCommandError("this customer lives on the wall clock: its next renewal fails when it comes")
    renews = int(sub["items"].data[0].current_period_end) + 2 * 3600
    _advance_clock(client, customer.test_clock, renews)
    return [f"the renewal of {sub.id} failed (Stripe retries in 3 days; `keel stripe advance --days 3`)"]


def _dispute(client: Any, customer: Any) -> list[str]:
    sub = _live_subscription(client, customer)
    invoice = client.v1.invoices.retrieve(
        sub.latest_invoice, params={"expand": ["payments.data.payment.payment_intent"]}
    )
    intent = invoice.payments.data[0].payment.payment_intent
    charge = intent.latest_charge if isinstance(intent.latest_charge, str) else intent.latest_charge.id
    client.raw_request("post", f"/v1/test_helpers/charges/{charge}/dispute")
    return [f"charge {charge} of invoice {invoice.id} is disputed"]


def _trial_will_end(client: Any, customer: Any) -> list[str]:
    sub = _live_subscription(client, customer)
    if sub.status != "trialing" or not customer.test_clock:
        raise StripeCommandError("the subscription is not trialing on a test clock")
    _advance_clock(client, customer.test_clock, int(sub.trial_end) - 3 * DAY + 60)
    return [f"the trial of {sub.id} ends in 3 days"]


def _renewal(client: Any, customer: Any) -> list[str]:
    sub = _live_subscription(client, customer)
    if not customer.test_clock:
        raise StripeCommandError("this customer lives on the wall clock: its renewal comes when it comes")
    _advance_clock(client, customer.test_clock, int(sub["items"].data[0].current_period_end) + 2 * 3600)
    return [f"{sub.id} renewed"]


SCENARIOS: dict[str, Scenario] = {
    "invoice.payment_failed": Scenario("the next renewal's payment fails (the clock moves to it)", _payment_failed),
    "charge.dispute.created": Scenario("the latest invoice's charge is disputed", _dispute),
    "customer.subscription.trial_will_end": Scenario("a trial's end comes within 3 days", _trial_will_end),
    "invoice.paid": Scenario("the subscription renews and its invoice is paid", _renewal),
}


def trigger(url: str, scenario: str, tenant: str | None, say: Callable[[str], None]) -> int:
    found = SCENARIOS.get(scenario)
    if found is None:
        known = "\n".join(f"  {name:<38} {s.what}" for name, s in SCENARIOS.items())
        raise StripeCommandError(f"no scenario {scenario!r}; known:\n{known}")
    client = _client(url)
    for line in found.run(client, customer_of(client, tenant)):
        say(line)
    say("Stripe sends the events to keel dev's /webhooks/stripe (`keel stripe listen` shows them).")
    return 0


# -- advance, chaos ----------------------------------------------------------------------------------


def advance(url: str, days: float, tenant: str | None, say: Callable[[str], None]) -> int:
    """Move the tenant's test clock (or every ready clock) ``days`` on."""
    if days <= 0:
        raise StripeCommandError("--days must be more than 0")
    client = _client(url)
    if tenant is not None:
        customer = customer_of(client, tenant)
        if not customer.test_clock:
            raise StripeCommandError(f"tenant {tenant}'s customer lives on the wall clock, not a test clock")
        clocks = [client.v1.test_helpers.test_clocks.retrieve(customer.test_clock)]
    else:
        clocks = [c for c in client.v1.test_helpers.test_clocks.list(params={"limit": 100}).data if c.status == "ready"]
    if not clocks:
        raise StripeCommandError("there is no test clock: check out a plan under keel dev first")
    for clock in clocks:
        to = int(clock.frozen_time + days * DAY)
        _advance_clock(client, clock.id, to)
        say(f"{clock.name or clock.id}: now {datetime.fromtimestamp(to, UTC).isoformat(timespec='minutes')}")
    return 0


def chaos(url: str, on: bool, say: Callable[[str], None]) -> int:
    state = _local(url, "POST", "/_local/chaos", {"enabled": "true" if on else "false"})["chaos"]
    say(f"chaos {'on: every event is delivered twice, shuffled' if state else 'off'}")
    return 0


# -- sync ---------------------------------------------------------------------------------------------


def progress_bar(done: int, total: int, repaired: int, width: int = 30) -> str:
    filled = width if total == 0 else round(width * done / total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} tenants, {repaired} repaired"


def sync(topology: Topology, environment: dict[str, str], tenant: str | None, say: Callable[[str], None]) -> int:
    """Billing's reconciliation on every Stripe-linked tenant (or one), in this process."""
    contexts = [ctx for ctx in topology.contexts if ctx.uses_stripe]
    if not contexts:
        raise StripeCommandError("no context of the topology uses Stripe")
    with applied(environment):
        module = importlib.import_module(f"{contexts[0].package}.{SYNC_MODULE}")
        tenants = [tenant] if tenant else module.linked_tenants()
        total = len(tenants)

        def show(done: int, repaired: int, _tenant: str) -> None:
            sys.stdout.write("\r" + progress_bar(done, total, repaired))
            sys.stdout.flush()

        show(0, 0, "")
        repairs = module.sync(tenants, progress=show)
    sys.stdout.write("\n")
    for repair in repairs:
        changed = ", ".join(f"{k}: {a} -> {b}" for k, (a, b) in repair.differences.items())
        say(f"  repaired {repair.tenant_id}: {changed}")
    say(f"{total} tenant{'s' if total != 1 else ''} compared with Stripe, {len(repairs)} repaired.")
    return 0
