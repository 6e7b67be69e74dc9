"""``keel stripe``'s commands against the local Stripe emulator (``infra/local/stripe_cli.py``)."""

from __future__ import annotations

import os

import pytest

from infra.local import stripe_cli
from infra.topology import TOPOLOGY
from keel import settings
from tests.integration.billing.support import Billing, items_of


@pytest.fixture
def on_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_BILLING_STRIPE_TEST_CLOCKS", "true")
    settings.reset()


def test_listen_prints_each_delivery_as_a_line(billing: Billing) -> None:
    tenant = billing.sign_up()
    billing.checkout(tenant)
    lines: list[str] = []
    assert stripe_cli.listen(billing.emulator.url, lines.append, once=True) > 0
    paid = next(line for line in lines if " invoice.paid " in line)
    assert "-> 200 [delivered]" in paid


def test_chaos_is_switched_on_and_off(billing: Billing) -> None:
    said: list[str] = []
    stripe_cli.chaos(billing.emulator.url, True, said.append)
    assert billing.emulator.dispatcher.chaos
    stripe_cli.chaos(billing.emulator.url, False, said.append)
    assert not billing.emulator.dispatcher.chaos
    assert said[0].startswith("chaos on")


def test_advance_and_trigger_move_a_tenants_clock_and_fail_its_renewal(billing: Billing, on_clocks: None) -> None:
    # Given a Pro tenant whose customer lives on its own test clock
    tenant = billing.sign_up()
    billing.checkout(tenant)
    said: list[str] = []
    # When ten days pass, then its next renewal is made to fail
    stripe_cli.advance(billing.emulator.url, 10, tenant, said.append)
    stripe_cli.trigger(billing.emulator.url, "invoice.payment_failed", tenant, said.append)
    billing.sync()
    # Then billing heard of the failed payment: the tenant is past due
    account = next(i for i in items_of(tenant) if i["sk"] == "ACCOUNT")
    assert account["status"] == "past_due"
    assert "now " in said[0]


def test_an_unknown_scenario_lists_the_known_ones(billing: Billing) -> None:
    with pytest.raises(stripe_cli.StripeCommandError, match=r"invoice\.payment_failed"):
        stripe_cli.trigger(billing.emulator.url, "nope", None, print)


def test_sync_repairs_every_linked_tenant_with_a_progress_bar(
    billing: Billing, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = billing.sign_up()
    billing.checkout(tenant)
    sub_id = next(i for i in items_of(tenant) if i["sk"] == "ACCOUNT")["subscription_id"]
    billing.stripe.v1.subscriptions.update(sub_id, params={"cancel_at_period_end": True})
    billing.stripe_deliveries()  # lost
    said: list[str] = []
    environment = {k: v for k, v in os.environ.items() if k.startswith(("KEEL_", "AWS_"))}
    stripe_cli.sync(TOPOLOGY, environment, tenant, said.append)
    assert "[##############################] 1/1 tenants, 1 repaired" in capsys.readouterr().out
    assert said[0].startswith(f"  repaired {tenant}: cancel_at_period_end: False -> True")
    assert said[-1] == "1 tenant compared with Stripe, 1 repaired."


def test_the_progress_bar_fills_as_tenants_are_done() -> None:
    assert stripe_cli.progress_bar(0, 4, 0, width=4) == "[....] 0/4 tenants, 0 repaired"
    assert stripe_cli.progress_bar(2, 4, 1, width=4) == "[##..] 2/4 tenants, 1 repaired"
    assert stripe_cli.progress_bar(0, 0, 0, width=4) == "[####] 0/0 tenants, 0 repaired"
