"""Stripe's wire format: keys, versions, nested forms, errors, idempotency, expand and pagination."""

from __future__ import annotations

import threading

import pytest
import stripe

from infra.local.stripe import API_VERSION, StripeEmulator
from infra.local.stripe.routes import ROUTES
from tests.integration.stripe.support import raw


def test_the_pinned_api_version_is_the_sdks() -> None:
    assert stripe.api_version == API_VERSION


# -- keys and versions ----------------------------------------------------------------------------


def test_a_request_without_a_key_is_401_in_stripes_shape(emulator: StripeEmulator) -> None:
    status, _, body = raw(emulator, "GET", "/v1/customers", key=None)

    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert "API key" in body["error"]["message"]


@pytest.mark.parametrize("key", ["sk_live_abcdefghijklmnop", "pk_test_abcdefghijklmnop", "nonsense"])
def test_only_test_mode_secret_keys_are_accepted(emulator: StripeEmulator, key: str) -> None:
    status, _, body = raw(emulator, "GET", "/v1/customers", key=key)

    assert status == 401
    assert key not in body["error"]["message"]  # the key is masked, never echoed


def test_the_sdk_raises_authentication_error_for_a_live_key(emulator: StripeEmulator) -> None:
    client = stripe.StripeClient("sk_live_nope_nope_nope", base_addresses={"api": emulator.url})

    with pytest.raises(stripe.AuthenticationError):
        client.v1.customers.list()


def test_basic_auth_with_the_key_as_user_works_like_curl_u(emulator: StripeEmulator) -> None:
    status, _, _ = raw(emulator, "GET", "/v1/customers", headers={"Authorization": "Basic c2tfdGVzdF94eXo6"}, key=None)

    assert status == 200


def test_stripe_version_is_echoed_and_defaults_to_the_pinned_one(emulator: StripeEmulator) -> None:
    _, pinned, _ = raw(emulator, "GET", "/v1/customers")
    _, echoed, _ = raw(emulator, "GET", "/v1/customers", headers={"Stripe-Version": "2025-03-31.basil"})
    status, _, body = raw(emulator, "GET", "/v1/customers", headers={"Stripe-Version": "yesterday"})

    assert pinned["stripe-version"] == API_VERSION
    assert echoed["stripe-version"] == "2025-03-31.basil"
    assert status == 400
    assert "version" in body["error"]["message"]
    assert pinned["request-id"].startswith("req_")


# -- nested forms and parameter errors ------------------------------------------------------------


def test_nested_form_keys_become_nested_objects(emulator: StripeEmulator) -> None:
    # Given a customer created with nested metadata and a subscription with indexed items
    status, _, customer = raw(
        emulator,
        "POST",
        "/v1/customers",
        "email=a%40example.com&metadata[tenant]=ten_1&metadata[0]=zero&payment_method=pm_card_visa"
        "&invoice_settings[default_payment_method]=pm_card_visa",
    )
    assert status == 200
    status, _, sub = raw(
        emulator,
        "POST",
        "/v1/subscriptions",
        f"customer={customer['id']}&items[0][price]=price_pro_monthly&items[0][quantity]=2"
        "&metadata[plan]=pro&expand[]=latest_invoice",
    )

    # Then each nested key landed where it belongs
    assert status == 200, sub
    assert customer["metadata"] == {"tenant": "ten_1", "0": "zero"}
    assert sub["items"]["data"][0]["quantity"] == 2
    assert sub["metadata"] == {"plan": "pro"}
    assert sub["latest_invoice"]["amount_paid"] == 2 * 2900


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ("email=a@b.c&colour=blue", "colour", "parameter_unknown"),
        ("metadata=x&metadata[a]=b", "metadata[a]", None),
        ("test_clock=clock_nope", "test_clock", "resource_missing"),
    ],
)
def test_bad_parameters_are_400_or_404_naming_the_param(
    emulator: StripeEmulator, body: str, param: str, code: str | None
) -> None:
    status, _, answer = raw(emulator, "POST", "/v1/customers", body)

    assert status in (400, 404)
    assert answer["error"]["param"] == param
    assert answer["error"].get("code") == code


def test_a_missing_required_param_is_named(emulator: StripeEmulator) -> None:
    status, _, answer = raw(emulator, "POST", "/v1/subscriptions", "items[0][price]=price_pro_monthly")

    assert status == 400
    assert answer["error"] | {"doc_url": None} == {
        "type": "invalid_request_error",
        "code": "parameter_missing",
        "param": "customer",
        "message": "Missing required param: customer.",
        "doc_url": None,
    }


def test_an_invalid_integer_is_400(emulator: StripeEmulator) -> None:
    status, _, answer = raw(emulator, "GET", "/v1/customers?limit=ten")

    assert status == 400
    assert answer["error"]["code"] == "parameter_invalid_integer"


def test_an_unknown_id_is_404_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.subscriptions.retrieve("sub_doesnotexist")

    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"
    assert "No such subscription" in str(caught.value.user_message)


def test_an_id_of_another_kind_is_404_too(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create()

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.invoices.retrieve(customer.id)

    assert caught.value.http_status == 404


def test_an_unknown_url_is_404(emulator: StripeEmulator) -> None:
    status, _, answer = raw(emulator, "GET", "/v1/teapots")

    assert status == 404
    assert "Unrecognized request URL" in answer["error"]["message"]


def test_an_oversized_body_is_refused_before_it_is_read(emulator: StripeEmulator) -> None:
    status, _, answer = raw(emulator, "POST", "/v1/customers", "a=" + "x" * (1024 * 1024 + 10))

    assert status == 413
    assert answer["error"]["type"] == "invalid_request_error"


def test_metadata_follows_stripes_limits(emulator: StripeEmulator) -> None:
    too_long = "metadata[k]=" + "v" * 501

    status, _, answer = raw(emulator, "POST", "/v1/customers", too_long)

    assert status == 400
    assert answer["error"]["param"] == "metadata[k]"


# -- idempotency ----------------------------------------------------------------------------------


def test_the_same_key_and_params_replay_the_first_answer(emulator: StripeEmulator) -> None:
    headers = {"Idempotency-Key": "tenant-1:create-customer"}

    first = raw(emulator, "POST", "/v1/customers", "email=a%40b.c", headers)
    again = raw(emulator, "POST", "/v1/customers", "email=a%40b.c", headers)

    assert first[0] == again[0] == 200
    assert again[2]["id"] == first[2]["id"]
    assert again[1]["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first[1]
    listed = raw(emulator, "GET", "/v1/customers")[2]
    assert [c["id"] for c in listed["data"]] == [first[2]["id"]]  # one customer, not two


def test_the_same_key_with_other_params_is_400_idempotency_error(client: stripe.StripeClient) -> None:
    client.v1.customers.create(params={"email": "a@b.c"}, options={"idempotency_key": "k-1"})

    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.customers.create(params={"email": "other@b.c"}, options={"idempotency_key": "k-1"})

    assert caught.value.http_status == 400


def test_a_key_in_flight_is_409_for_the_second_request(emulator: StripeEmulator) -> None:
    # Given a request that holds the account while a second one with the same key arrives
    entered, release = threading.Event(), threading.Event()
    account = emulator.account
    original = account.sink

    def slow_sink(events: list[dict[str, object]]) -> None:
        entered.set()
        release.wait(5)
        original(events)

    account.sink = slow_sink
    headers = {"Idempotency-Key": "same"}
    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(raw(emulator, "POST", "/v1/customers", "", headers)[0]))
    first.start()
    assert entered.wait(5)

    # When the second arrives while the first is still running
    status, _, answer = raw(emulator, "POST", "/v1/customers", "", headers)
    release.set()
    first.join(5)

    # Then it is a 409 and the first succeeds
    assert status == 409
    assert answer["error"]["type"] == "idempotency_error"
    assert results == [200]


def test_a_declined_payment_is_replayed_too(emulator: StripeEmulator) -> None:
    _, _, customer = raw(
        emulator,
        "POST",
        "/v1/customers",
        "payment_method=pm_card_chargeCustomerFail&invoice_settings[default_payment_method]=pm_card_chargeCustomerFail",
    )
    body = f"customer={customer['id']}&items[0][price]=price_pro_monthly&payment_behavior=error_if_incomplete"
    headers = {"Idempotency-Key": "sub-1"}

    first = raw(emulator, "POST", "/v1/subscriptions", body, headers)
    again = raw(emulator, "POST", "/v1/subscriptions", body, headers)

    assert first[0] == again[0] == 402
    assert first[2]["error"]["type"] == "card_error"
    assert again[1]["idempotent-replayed"] == "true"


# -- expand and lists -----------------------------------------------------------------------------


def test_expand_replaces_ids_with_objects_at_each_level(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(
        params={"payment_method": "pm_card_visa", "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )
    sub = client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"price": "price_pro_monthly"}]})

    found = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["latest_invoice.payments", "customer"]})
    intent = client.v1.payment_intents.retrieve(
        found.latest_invoice.payments.data[0].payment.payment_intent, params={"expand": ["latest_charge"]}
    )

    assert found.customer.id == customer.id
    assert isinstance(intent.latest_charge, stripe.Charge)
    assert intent.latest_charge.amount == 2900
    with pytest.raises(stripe.InvalidRequestError):  # Stripe's limit: four levels
        client.v1.subscriptions.retrieve(
            sub.id, params={"expand": ["latest_invoice.payments.data.payment.payment_intent"]}
        )


def test_expand_on_a_list_uses_the_data_prefix(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"payment_method": "pm_card_visa"})
    client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": "price_pro_monthly"}],
            "default_payment_method": "pm_card_visa",
        }
    )

    listed = client.v1.subscriptions.list(params={"customer": customer.id, "expand": ["data.latest_invoice"]})

    assert listed.data[0].latest_invoice.status == "paid"


def test_expanding_a_field_that_is_not_expandable_is_400(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"email": "a@example.com"})

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.customers.retrieve(customer.id, params={"expand": ["email"]})

    assert caught.value.param == "expand"


def test_lists_page_newest_first_with_cursors(client: stripe.StripeClient) -> None:
    # Given five customers
    made = [client.v1.customers.create(params={"email": f"c{i}@example.com"}).id for i in range(5)]
    newest_first = list(reversed(made))

    # When paging two at a time
    first = client.v1.customers.list(params={"limit": 2})
    second = client.v1.customers.list(params={"limit": 2, "starting_after": first.data[-1].id})
    last = client.v1.customers.list(params={"limit": 2, "starting_after": second.data[-1].id})
    back = client.v1.customers.list(params={"limit": 2, "ending_before": last.data[0].id})

    # Then the pages walk the list and say whether more follow
    assert [c.id for c in first.data] == newest_first[:2]
    assert first.has_more
    assert [c.id for c in second.data] == newest_first[2:4]
    assert second.has_more
    assert [c.id for c in last.data] == newest_first[4:]
    assert not last.has_more
    assert [c.id for c in back.data] == newest_first[2:4]
    assert back.has_more
    assert [c.id for c in client.v1.customers.list(params={"limit": 2}).auto_paging_iter()] == newest_first


def test_list_filters_and_limit_bounds(client: stripe.StripeClient) -> None:
    client.v1.customers.create(params={"email": "x@example.com"})
    client.v1.customers.create(params={"email": "y@example.com"})

    found = client.v1.customers.list(params={"email": "y@example.com"})

    assert [c.email for c in found.data] == ["y@example.com"]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.list(params={"limit": 101})


def test_prices_are_seeded_with_lookup_keys(client: stripe.StripeClient) -> None:
    found = client.v1.prices.list(params={"lookup_keys": ["pro_monthly", "business_annual"]})

    by_key = {price.lookup_key: price for price in found.data}
    assert by_key["pro_monthly"].id == "price_pro_monthly"
    assert by_key["pro_monthly"].unit_amount == 2900
    assert by_key["pro_monthly"].recurring.interval == "month"
    assert by_key["business_annual"].recurring.interval == "year"
    assert client.v1.products.retrieve(by_key["pro_monthly"].product).name == "Pro"


def test_a_lookup_key_is_unique_unless_transferred(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.prices.create(
            params={"product": "prod_pro", "unit_amount": 3900, "currency": "usd", "lookup_key": "pro_monthly"}
        )

    moved = client.v1.prices.create(
        params={
            "product": "prod_pro",
            "unit_amount": 3900,
            "currency": "usd",
            "recurring": {"interval": "month"},
            "lookup_key": "pro_monthly",
            "transfer_lookup_key": True,
        }
    )

    assert client.v1.prices.list(params={"lookup_keys": ["pro_monthly"]}).data[0].id == moved.id


# -- injected faults ------------------------------------------------------------------------------


def test_an_injected_429_is_a_rate_limit_error(emulator: StripeEmulator, client: stripe.StripeClient) -> None:
    emulator.inject_fault(429, count=1, path="/v1/customers")

    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.list()
    assert client.v1.customers.list().data == []  # only the next request


def test_an_injected_500_is_retried_by_the_sdk_with_the_same_idempotency_key(emulator: StripeEmulator) -> None:
    emulator.inject_fault(500, count=1, path="/v1/customers")
    retrying = stripe.StripeClient("sk_test_x", base_addresses={"api": emulator.url}, max_network_retries=2)

    customer = retrying.v1.customers.create(params={"email": "a@b.c"})

    assert customer.email == "a@b.c"
    assert len(retrying.v1.customers.list().data) == 1


def test_faults_can_be_set_over_http(emulator: StripeEmulator) -> None:
    status, _, answer = raw(emulator, "POST", "/_local/faults", {"status": "503", "count": "2"}, key=None)
    assert status == 200
    assert answer["faults"][0]["count"] == 2

    codes = [raw(emulator, "GET", "/v1/customers")[0] for _ in range(3)]

    assert codes == [503, 503, 200]


# -- every route ----------------------------------------------------------------------------------


def test_every_route_needs_a_key_and_answers_bad_input_in_stripes_shape(emulator: StripeEmulator) -> None:
    for route in ROUTES:
        path = route.template.replace("{id}", "nope_0000")
        without_key = raw(emulator, route.method, path, key=None)
        garbage = raw(emulator, route.method, f"{path}?colour=blue", "limit=zero&items=x")

        assert without_key[0] == 401, route.template
        assert 400 <= garbage[0] < 500, (route.template, garbage)
        assert set(garbage[2]["error"]) >= {"type", "message"}, route.template
