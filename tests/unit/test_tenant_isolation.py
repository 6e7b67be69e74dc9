"""The kernel's tenant isolation (``keel.isolation``, ``keel.aws.dynamodb``): the leading-key condition
evaluated as IAM evaluates it, and the tenant's credentials, assumed once per tenant per container."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from keel import aws, isolation, settings
from keel.clock import FixedClock
from keel.store import get_item, tenant_partitions, tenant_pk, to_attributes
from tests.support.moto import create_context_table
from tests.support.staged import THINGS

ME, OTHER = "ten_01JDAAAAAAAAAAAAAAAAAAAAAA", "ten_01JDBBBBBBBBBBBBBBBBBBBBBB"
OWN = tenant_partitions()
ROLE = "arn:aws:iam::123456789012:role/keel-test-tenant"


def key(pk: str, sk: str = "X") -> dict[str, Any]:
    return to_attributes({"pk": pk, "sk": sk})


# -- the condition --------------------------------------------------------------------------------


@pytest.mark.parametrize("partition", [f"TENANT#{ME}", f"TENANT#{ME}#PROJECTS", f"TENANT#{ME}#prj_1"])
def test_a_tenant_may_touch_its_partition_and_its_collections(partition: str) -> None:
    assert isolation.allows(OWN, ME, partition)


@pytest.mark.parametrize(
    "partition",
    [f"TENANT#{OTHER}", f"TENANT#{OTHER}#PROJECTS", f"TENANT#{ME}X", f"TENANT#{ME}X#PROJECTS", "SLUG#acme", ""],
)
def test_a_tenant_may_not_touch_another_tenants_partition_even_one_whose_id_starts_with_its_own(
    partition: str,
) -> None:
    assert not isolation.allows(OWN, ME, partition)


def test_a_tenant_id_is_a_literal_in_the_condition_never_a_wildcard() -> None:
    # Given a tenant id made of IAM's wildcards (tenant ids are never like this; the check must not care)
    assert not isolation.allows(OWN, "*", f"TENANT#{ME}")
    assert isolation.allows(OWN, "*", "TENANT#*")


def test_global_lookups_are_allowed_only_under_the_patterns_that_name_them() -> None:
    patterns = (*OWN, "SLUG#*", "SUMMARY")
    assert isolation.allows(patterns, ME, "SLUG#acme")
    assert isolation.allows(patterns, ME, "SUMMARY")
    assert not isolation.allows(patterns, ME, "SUMMARY#2")
    assert not isolation.allows(patterns, ME, "JOB#sweep")


TABLE = "t"
KEYS = {TABLE: OWN}


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("GetItem", {"TableName": TABLE, "Key": key(tenant_pk(OTHER))}),
        ("PutItem", {"TableName": TABLE, "Item": key(tenant_pk(OTHER))}),
        ("UpdateItem", {"TableName": TABLE, "Key": key(tenant_pk(OTHER))}),
        ("DeleteItem", {"TableName": TABLE, "Key": key(tenant_pk(OTHER))}),
        (
            "Query",
            {
                "TableName": TABLE,
                "KeyConditionExpression": "#p = :v AND begins_with(sk, :s)",
                "ExpressionAttributeNames": {"#p": "pk"},
                "ExpressionAttributeValues": to_attributes({":v": tenant_pk(OTHER), ":s": "A"}),
            },
        ),
        ("BatchGetItem", {"RequestItems": {TABLE: {"Keys": [key(tenant_pk(ME)), key(tenant_pk(OTHER))]}}}),
        (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": TABLE, "Item": key(tenant_pk(ME))}},
                    {"ConditionCheck": {"TableName": TABLE, "Key": key(tenant_pk(OTHER)), "ConditionExpression": "x"}},
                ]
            },
        ),
        ("BatchWriteItem", {"RequestItems": {TABLE: [{"DeleteRequest": {"Key": key(tenant_pk(OTHER))}}]}}),
        ("GetItem", {"TableName": "another-table", "Key": key(tenant_pk(ME))}),
        ("Scan", {"TableName": TABLE}),
        ("Query", {"TableName": TABLE, "KeyConditionExpression": "sk = :v", "ExpressionAttributeValues": {}}),
    ],
)
def test_every_partition_a_request_touches_is_checked(operation: str, params: dict[str, Any]) -> None:
    assert isolation.refusal(operation, params, KEYS, ME) is not None


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("GetItem", {"TableName": TABLE, "Key": key(tenant_pk(ME))}),
        (
            "Query",
            {
                "TableName": TABLE,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": to_attributes({":pk": tenant_pk(ME, "PROJECTS"), ":prefix": "A"}),
            },
        ),
        ("BatchGetItem", {"RequestItems": {TABLE: {"Keys": [key(tenant_pk(ME)), key(tenant_pk(ME, "X"))]}}}),
        (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": TABLE, "Item": key(tenant_pk(ME))}},
                    {"Update": {"TableName": TABLE, "Key": key(tenant_pk(ME)), "UpdateExpression": "SET a = b"}},
                ]
            },
        ),
    ],
)
def test_a_request_within_the_tenants_partitions_passes(operation: str, params: dict[str, Any]) -> None:
    assert isolation.refusal(operation, params, KEYS, ME) is None


# -- credentials ----------------------------------------------------------------------------------


class Counted:
    """moto's STS, each AssumeRole counted with the tags it carried (botocore's ``before-call`` event)."""

    def __init__(self) -> None:
        self.client = boto3.client("sts")
        self.tags: list[list[dict[str, str]]] = []
        #: The access key of each AssumeRole's answer, by the tenant it was assumed for.
        self.access_keys: dict[str, str] = {}
        self.client.meta.events.register("before-parameter-build.sts.AssumeRole", self._seen)
        self.client.meta.events.register("after-call.sts.AssumeRole", self._answered)

    def _seen(self, params: dict[str, Any], **_: Any) -> None:
        self.tags.append(params["Tags"])

    def _answered(self, parsed: dict[str, Any], **_: Any) -> None:
        self.access_keys[self.tags[-1][0]["Value"]] = parsed["Credentials"]["AccessKeyId"]


@pytest.fixture
def sts(aws: None) -> Counted:
    return Counted()


def scoped(sts: Counted, clock: FixedClock, size: int = 8) -> isolation.TenantClients:
    return isolation.TenantClients(
        role_arn=ROLE, keys=KEYS, sts=lambda: sts.client, client=aws.tenants_dynamodb, clock=clock, size=size
    )


def now() -> datetime:
    # Read when a test starts: moto dates the credentials it hands out from the real clock.
    return datetime.now(UTC)


def test_a_tenants_credentials_are_assumed_once_per_container_with_the_tenant_as_session_tag(sts: Counted) -> None:
    clients = scoped(sts, FixedClock(now()))
    first = clients.for_tenant(ME)
    assert clients.for_tenant(ME) is first
    assert clients.for_tenant(OTHER) is not first
    assert len(sts.tags) == 2
    assert sts.tags == [[{"Key": "tenant_id", "Value": ME}], [{"Key": "tenant_id", "Value": OTHER}]]


def test_credentials_are_assumed_again_shortly_before_they_expire(sts: Counted) -> None:
    clock = FixedClock(now())
    clients = scoped(sts, clock)
    first = clients.for_tenant(ME)
    # Still well inside the hour: the same credentials
    clock.advance(timedelta(seconds=isolation.SESSION_SECONDS) - isolation.REFRESH_BEFORE - timedelta(minutes=1))
    assert clients.for_tenant(ME) is first
    # Within the last minutes of the hour: new ones
    clock.advance(timedelta(minutes=2))
    assert clients.for_tenant(ME) is not first
    assert len(sts.tags) == 2


def test_a_container_keeps_the_credentials_of_a_bounded_number_of_tenants(sts: Counted) -> None:
    clients = scoped(sts, FixedClock(now()), size=2)
    for tenant in (ME, OTHER, "ten_3", ME):
        clients.for_tenant(tenant)
    assert len(clients) == 2
    # The least recently used (OTHER) went first; ME, used last, is still held
    clients.for_tenant(ME)
    assert len(sts.tags) == 4


class Sharing:
    """Tenant clients on ``table`` whose shared botocore client(s) this test can see."""

    def __init__(self, sts: Counted, table: str = TABLE) -> None:
        self.made: list[Any] = []
        self.clients = isolation.TenantClients(
            role_arn=ROLE, keys={table: OWN}, sts=lambda: sts.client, client=self.make
        )

    def make(self) -> Any:
        self.made.append(aws.tenants_dynamodb())
        return self.made[-1]


def test_every_tenants_client_shares_one_botocore_client(sts: Counted) -> None:
    # A botocore client per tenant weighed ~0.25 MB, more once used: a few hundred MB for 256 tenants
    sharing = Sharing(sts)
    clients = [sharing.clients.for_tenant(tenant) for tenant in (ME, OTHER, "ten_3")]
    assert len(sharing.made) == 1
    assert all(client.meta is sharing.made[0].meta for client in clients)


def signed_with(client: Any, call: Callable[[], Any]) -> str:
    """The access key that signed the request ``call`` sends through ``client`` (SigV4's ``Credential=``)."""
    keys: list[str] = []

    def sent(request: Any, **_: Any) -> None:
        keys.append(request.headers["Authorization"].decode().split("Credential=")[1].split("/")[0])

    client.meta.events.register("before-send.dynamodb", sent)
    try:
        call()
    finally:
        client.meta.events.unregister("before-send.dynamodb", sent)
    return keys[-1]


def test_each_tenants_requests_are_signed_with_that_tenants_assumed_credentials(isolated: str, sts: Counted) -> None:
    clients = Sharing(sts, isolated).clients
    mine, other = clients.for_tenant(ME), clients.for_tenant(OTHER)
    mine_key = signed_with(mine, lambda: mine.get_item(TableName=isolated, Key=key(tenant_pk(ME))))
    other_key = signed_with(other, lambda: other.get_item(TableName=isolated, Key=key(tenant_pk(OTHER))))
    assert mine_key == sts.access_keys[ME]
    assert other_key == sts.access_keys[OTHER] != mine_key


def test_a_request_on_the_shared_client_made_for_no_tenant_is_refused(isolated: str, sts: Counted) -> None:
    sharing = Sharing(sts, isolated)
    sharing.clients.for_tenant(ME).get_item(TableName=isolated, Key=key(tenant_pk(ME)))
    with pytest.raises(ClientError) as refused:
        sharing.made[0].get_item(TableName=isolated, Key=key(tenant_pk(ME)))
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


# -- which client a call gets ---------------------------------------------------------------------


@pytest.fixture
def isolated(aws: None) -> str:
    """The things table, its tenants acting with their own credentials (as tests/conftest.py sets)."""
    table = THINGS.table_name
    create_context_table(table)
    settings.reset()
    return table


def test_outside_a_tenant_the_function_acts_with_its_own_role(isolated: str) -> None:
    assert aws.dynamodb() is aws.client("dynamodb")
    get_item(isolated, tenant_pk(OTHER), "X")  # any partition: jobs and migrations act for no tenant


def test_a_tenant_acts_with_its_credentials_and_is_refused_another_tenants_key(isolated: str) -> None:
    with isolation.acting_for(ME):
        assert aws.dynamodb() is not aws.client("dynamodb")
        assert get_item(isolated, tenant_pk(ME), "X") is None
        with pytest.raises(ClientError) as refused:
            get_item(isolated, tenant_pk(OTHER), "X")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"


def test_without_a_tenant_role_a_tenant_acts_with_the_functions_own_role(
    isolated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEL_TENANT_ROLE_ARN", "")
    settings.reset()
    aws.reset()
    with isolation.acting_for(ME):
        assert aws.dynamodb() is aws.client("dynamodb")
