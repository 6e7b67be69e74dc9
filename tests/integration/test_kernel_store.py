"""Store helpers, versioned writes and Idempotency-Key, through the test-only "things" context under moto."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from keel import idempotency, reset_caches
from keel.errors import BadRequest
from keel.store import (
    OUTBOX_PREFIX,
    BatchGetIncomplete,
    Transaction,
    TransactionFailed,
    batch_get,
    decode_cursor,
    encode_cursor,
    entity_sk,
    query_all,
    tenant_pk,
    to_attributes,
)
from tests.support import things
from tests.support.events import api_event, response_json
from tests.support.moto import all_items, create_context_table, create_idempotency_table
from tests.support.staged import STAGED, THINGS
from tests.support.tenants import ADMIN_A, ADMIN_B, TENANT_A


@pytest.fixture
def tables(aws: None) -> None:
    create_context_table(things.table())
    create_idempotency_table()


def call(event: dict) -> tuple[int, dict]:
    response = things.handler(event, None)  # type: ignore[arg-type]
    return response["statusCode"], response_json(response)


def outbox() -> list[dict]:
    return [i for i in all_items(things.table()) if i["sk"].startswith(OUTBOX_PREFIX)]


def test_a_create_writes_state_and_its_event_in_one_transaction(tables: None) -> None:
    status, thing = call(api_event("POST", "/v1/things", body={"name": "lamp"}, authorizer=ADMIN_A))
    assert status == 201
    events = outbox()
    assert len(events) == 1
    assert events[0]["pk"] == f"TENANT#{TENANT_A}"
    assert events[0]["event_type"] == "things.thing.created.v1"
    assert thing["id"] in events[0]["event"]


def test_a_write_that_loses_the_version_race_is_a_409_and_publishes_nothing(tables: None) -> None:
    # Given a thing at version 1, renamed once (now version 2)
    _, thing = call(api_event("POST", "/v1/things", body={"name": "lamp"}, authorizer=ADMIN_A))
    path = f"/v1/things/{thing['id']}"
    first, _ = call(api_event("PATCH", path, body={"name": "desk lamp", "version": 1}, authorizer=ADMIN_A))
    assert first == 200
    published = len(outbox())
    # When a second writer, who also read version 1, saves
    status, body = call(api_event("PATCH", path, body={"name": "floor lamp", "version": 1}, authorizer=ADMIN_A))
    # Then it loses with a 409 and no event leaves
    assert status == 409
    assert body["error"]["code"] == "conflict"
    assert len(outbox()) == published
    _, current = call(api_event("GET", path, authorizer=ADMIN_A))
    assert current == {"id": thing["id"], "name": "desk lamp", "version": 2}


def test_another_tenants_id_is_a_404(tables: None) -> None:
    _, thing = call(api_event("POST", "/v1/things", body={"name": "lamp"}, authorizer=ADMIN_A))
    own, _ = call(api_event("GET", f"/v1/things/{thing['id']}", authorizer=ADMIN_A))
    other, body = call(api_event("GET", f"/v1/things/{thing['id']}", authorizer=ADMIN_B))
    assert (own, other) == (200, 404)
    assert body["error"]["code"] == "not_found"


def test_lists_page_with_an_opaque_cursor(tables: None) -> None:
    for n in range(5):
        call(api_event("POST", "/v1/things", body={"name": f"t{n}"}, authorizer=ADMIN_A))
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = call(api_event("GET", "/v1/things", query=query, authorizer=ADMIN_A))
        assert status == 200
        seen += [t["name"] for t in page["items"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert sorted(seen) == ["t0", "t1", "t2", "t3", "t4"]


def test_a_cursor_from_another_tenant_is_rejected(tables: None) -> None:
    for n in range(3):
        call(api_event("POST", "/v1/things", body={"name": f"t{n}"}, authorizer=ADMIN_A))
    _, page = call(api_event("GET", "/v1/things", query={"limit": "1"}, authorizer=ADMIN_A))
    status, body = call(api_event("GET", "/v1/things", query={"cursor": page["cursor"]}, authorizer=ADMIN_B))
    assert status == 400
    assert body["error"]["message"] == "invalid cursor"


def test_the_same_idempotency_key_returns_the_first_response(tables: None) -> None:
    headers = {"Idempotency-Key": "create-lamp-1"}
    first = call(api_event("POST", "/v1/things", body={"name": "lamp"}, headers=headers, authorizer=ADMIN_A))
    again = call(api_event("POST", "/v1/things", body={"name": "lamp"}, headers=headers, authorizer=ADMIN_A))
    assert first[0] == again[0] == 201
    assert first[1] == again[1]
    assert len([i for i in all_items(things.table()) if i["sk"].startswith("THING#")]) == 1
    assert len(outbox()) == 1


def test_the_same_idempotency_key_with_another_body_is_a_422(tables: None) -> None:
    headers = {"Idempotency-Key": "create-lamp-1"}
    call(api_event("POST", "/v1/things", body={"name": "lamp"}, headers=headers, authorizer=ADMIN_A))
    status, body = call(api_event("POST", "/v1/things", body={"name": "sofa"}, headers=headers, authorizer=ADMIN_A))
    assert status == 422
    assert "Idempotency-Key" in body["error"]["message"]


def test_idempotency_keys_are_scoped_per_tenant(tables: None) -> None:
    headers = {"Idempotency-Key": "same-key"}
    _, a = call(api_event("POST", "/v1/things", body={"name": "lamp"}, headers=headers, authorizer=ADMIN_A))
    _, b = call(api_event("POST", "/v1/things", body={"name": "lamp"}, headers=headers, authorizer=ADMIN_B))
    assert a["id"] != b["id"]


def test_idempotency_records_start_with_the_contexts_prefix(tables: None) -> None:
    # Given an idempotent request to the "things" context
    headers = {"Idempotency-Key": "create-lamp-1"}
    call(api_event("POST", "/v1/things", body={"name": "lamp"}, headers=headers, authorizer=ADMIN_A))
    # Then its record sits under the context's own prefix, which IAM's LeadingKeys condition scopes to
    (record,) = all_items(STAGED.idempotency_table)
    assert record["id"].startswith(idempotency.record_prefix("things"))
    # And the context is known to use idempotency, so the cloud grants it the table
    assert "things" in idempotency.services()


def test_answers_to_an_allowed_origin_carry_cors_headers(tables: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a deployment that allows one browser origin
    monkeypatch.setenv("KEEL_CORS_ORIGINS", "https://app.example.com")
    reset_caches()
    try:
        # When that origin and another call a route
        allowed = things.handler(
            api_event("GET", "/v1/things", headers={"Origin": "https://app.example.com"}, authorizer=ADMIN_A), None
        )  # type: ignore[arg-type]
        other = things.handler(
            api_event("GET", "/v1/things", headers={"Origin": "https://evil.example"}, authorizer=ADMIN_A), None
        )  # type: ignore[arg-type]
    finally:
        monkeypatch.delenv("KEEL_CORS_ORIGINS")
        reset_caches()
    # Then only the allowed origin's page may read the answer, and caches keep the two apart
    assert allowed["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "X-Request-Id" in allowed["headers"]["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other["headers"]
    assert allowed["headers"]["Vary"] == other["headers"]["Vary"] == "Origin"


def test_without_the_header_each_post_creates(tables: None) -> None:
    call(api_event("POST", "/v1/things", body={"name": "lamp"}, authorizer=ADMIN_A))
    call(api_event("POST", "/v1/things", body={"name": "lamp"}, authorizer=ADMIN_A))
    assert len(outbox()) == 2


def test_a_malformed_idempotency_key_is_a_400(tables: None) -> None:
    headers = {"Idempotency-Key": "x" * 300}
    status, _ = call(api_event("POST", "/v1/things", body={"name": "lamp"}, headers=headers, authorizer=ADMIN_A))
    assert status == 400


def test_key_builders_refuse_a_missing_tenant() -> None:
    for bad in ("", " ten_1", "ten#1"):
        with pytest.raises(ValueError, match="tenant"):
            tenant_pk(bad)
    assert tenant_pk("ten_1", "INVOICES") == "TENANT#ten_1#INVOICES"
    assert entity_sk("THING", "thg_1") == "THING#thg_1"


def test_a_cursor_round_trips_and_garbage_is_a_400() -> None:
    key = to_attributes({"pk": "TENANT#ten_1", "sk": "THING#thg_1"})
    cursor = encode_cursor(key)
    assert cursor is not None
    assert decode_cursor(cursor, pk="TENANT#ten_1", sk_prefix="THING#") == key
    with pytest.raises(BadRequest):
        decode_cursor("%%%not-base64", pk="TENANT#ten_1")


@pytest.mark.parametrize(
    "crafted",
    [
        {"pk": "TENANT#ten_1"},  # no sort key: DynamoDB would answer a ValidationException (a 500)
        {"pk": "TENANT#ten_1", "sk": "THING#1", "gsi": "x"},
        {"pk": "TENANT#ten_1", "sk": "SECRET#1"},  # outside the query's sort-key range
        {"pk": "TENANT#ten_1", "sk": 7},
        ["not", "an", "object"],
    ],
)
def test_a_crafted_cursor_is_a_400(crafted: object) -> None:
    import base64
    import json

    cursor = base64.urlsafe_b64encode(json.dumps(crafted).encode()).decode()
    with pytest.raises(BadRequest, match="invalid cursor"):
        decode_cursor(cursor, pk="TENANT#ten_1", sk_prefix="THING#")


def test_a_transaction_holds_at_most_100_items() -> None:
    tx = Transaction("t")
    for n in range(100):
        tx.put({"pk": "p", "sk": str(n)})
    with pytest.raises(ValueError, match="at most 100"):
        tx.put({"pk": "p", "sk": "overflow"})


def test_a_transaction_retried_after_it_succeeded_answers_success_and_writes_once(tables: None) -> None:
    # Given a client whose first attempt succeeds but is retried anyway (its answer lost on the way back)
    ddb = boto3.client("dynamodb")
    tokens: list[str] = []

    def answer_lost(attempts: int, **_: Any) -> float | None:
        return 0 if attempts == 1 else None

    def sent(request: Any, **_: Any) -> None:
        tokens.append(json.loads(request.body)["ClientRequestToken"])

    ddb.meta.events.register("needs-retry.dynamodb.TransactWriteItems", answer_lost)
    ddb.meta.events.register("request-created.dynamodb.TransactWriteItems", sent)
    transaction = Transaction(THINGS.table_name)
    transaction.put_new({"pk": tenant_pk(TENANT_A), "sk": "THING#retried", "name": "lamp"})
    # When it executes
    transaction.execute(ddb)
    # Then both attempts carried one token, the retry answered success, and the thing exists once
    assert len(tokens) == 2
    assert tokens[0] == tokens[1]
    assert [i["sk"] for i in all_items(THINGS.table_name)] == ["THING#retried"]


def test_executing_a_transaction_again_is_a_retry_not_a_second_write(tables: None) -> None:
    transaction = Transaction(THINGS.table_name)
    transaction.update({"pk": tenant_pk(TENANT_A), "sk": "THING#counted"}, "ADD n :one", values={":one": 1})
    transaction.execute()

    transaction.execute()

    assert [i["n"] for i in all_items(THINGS.table_name)] == [1]


def test_what_waits_for_a_commit_runs_after_it_and_never_for_a_failed_one(tables: None) -> None:
    done: list[str] = []
    # Given a transaction that creates a thing, and something to do once it is committed
    first = Transaction(THINGS.table_name)
    first.put_new({"pk": tenant_pk(TENANT_A), "sk": "THING#once"})
    first.after_commit(lambda: done.append(str(len(all_items(THINGS.table_name)))))
    assert done == []
    # When it commits, what waited runs, with the write already there
    first.execute()
    assert done == ["1"]
    # And a transaction whose condition fails runs nothing that waited for it
    second = Transaction(THINGS.table_name)
    second.put_new({"pk": tenant_pk(TENANT_A), "sk": "THING#once"})
    second.after_commit(lambda: done.append("again"))
    with pytest.raises(TransactionFailed):
        second.execute()
    assert done == ["1"]


def put_things(count: int) -> list[dict[str, str]]:
    import boto3

    keys = [{"pk": tenant_pk(TENANT_A), "sk": entity_sk("THING", f"{n:03}")} for n in range(count)]
    for key in keys:
        boto3.client("dynamodb").put_item(TableName=THINGS.table_name, Item=to_attributes(key | {"name": "x"}))
    return keys


def test_a_batch_get_answers_by_key_and_leaves_out_what_is_not_there(tables: None) -> None:
    keys = put_things(3)
    missing = {"pk": tenant_pk(TENANT_A), "sk": entity_sk("THING", "nope")}
    found = batch_get(THINGS.table_name, [*keys, missing], consistent=True)
    assert set(found) == {(k["pk"], k["sk"]) for k in keys}


class Throttled:
    """DynamoDB under throttling (moto never throttles): each request leaves its last key unprocessed,
    ``times`` times."""

    def __init__(self, times: int) -> None:
        import boto3

        self.real = boto3.client("dynamodb")
        self.times = times
        self.requests: list[int] = []

    def batch_get_item(self, RequestItems: dict) -> dict:
        [(table, request)] = RequestItems.items()
        self.requests.append(len(request["Keys"]))
        if self.times == 0:
            return self.real.batch_get_item(RequestItems=RequestItems)
        self.times -= 1
        served = dict(request, Keys=request["Keys"][:-1])
        response = self.real.batch_get_item(RequestItems={table: served}) if served["Keys"] else {"Responses": {}}
        return response | {"UnprocessedKeys": {table: dict(request, Keys=request["Keys"][-1:])}}


def test_a_batch_get_asks_again_for_the_keys_left_unprocessed_only(tables: None) -> None:
    keys = put_things(3)
    throttled = Throttled(times=1)
    found = batch_get(THINGS.table_name, keys, client=throttled)  # type: ignore[arg-type]
    assert len(found) == 3
    assert throttled.requests == [3, 1]


def test_a_batch_get_never_passes_a_partial_answer_off_as_complete(tables: None) -> None:
    keys = put_things(2)
    with pytest.raises(BatchGetIncomplete):
        batch_get(THINGS.table_name, keys, client=Throttled(times=10), attempts=3)  # type: ignore[arg-type]


def test_query_all_walks_every_page(tables: None) -> None:
    put_things(7)
    items = list(query_all(THINGS.table_name, tenant_pk(TENANT_A), sk_prefix="THING#", page_size=3))
    assert [i["sk"] for i in items] == [entity_sk("THING", f"{n:03}") for n in range(7)]
