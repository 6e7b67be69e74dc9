"""The notifications context's DynamoDB table: the only place that knows its items.

Tenant partition ``pk = TENANT#<tenant id>``:

    TENANT: the tenant's name (from identity.tenant.created.v1)
    MEMBER#<user id>: a member's email and role (identity's member events), and their preferences
    DELIVERY#<event id>:<channel>:<recipient>[:<device>]: the delivery log and dedupe record
    NOTICE#<user id>#<notice id>: an in-app notice (``read_at`` once read)
    DEVICE#<user id>#<device id>: a push token
    SUPPRESSED#<email address, lowercased>: an address that hard-bounced or complained: never sent to again
    INBOX#<consumer>#<event id>: the kernel's consumer inbox; OUTBOX#<event id>: the kernel's outbox

Global partitions:

    ``pk = SUMMARY``, ``sk = MEMBER#<tenant id>#<user id>``: who wants the weekly summary by email
    (written with the member's preferences; the weekly job reads it a page at a time, never a Scan)
    ``pk = PACE#<provider>``, ``sk = SECOND#<epoch second>``: the shared send counter (``pacer.py``)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from functions.notifications.adapters.pacer import PACE_PREFIX
from functions.notifications.domain.errors import MemberNotKnown, SuppressionChanged
from functions.notifications.domain.messages import Category, Channel, Notice, Recipient
from functions.notifications.domain.ports import (
    ClaimOutcome,
    Delivery,
    DeliveryPage,
    Device,
    NoticePage,
    Suppression,
    SuppressionPage,
)
from functions.notifications.domain.preferences import Preferences
from keel import aws
from keel.clock import iso
from keel.contracts.notifications import DeliveryFailed, SuppressionLifted
from keel.errors import BadRequest
from keel.events import envelope
from keel.store import (
    Item,
    Transaction,
    TransactionFailed,
    decode_cursor,
    encode_cursor,
    from_attributes,
    get_item,
    query_all,
    query_page,
    tenant_partitions,
    tenant_pk,
    to_attributes,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TENANT_SK = "TENANT"
MEMBER, DELIVERY, NOTICE, DEVICE, SUPPRESSED = "MEMBER#", "DELIVERY#", "NOTICE#", "DEVICE#", "SUPPRESSED#"
SUMMARY_PK = "SUMMARY"
#: What a tenant's credentials may touch (``keel.isolation``): its own partitions, the weekly summary's
#: list of recipients (a member's preferences are written with their row in ``SUMMARY``) and the shared
#: send counters its consumers take a send from (``PACE#``, ``pacer.py``).
LEADING_KEYS = (*tenant_partitions(), SUMMARY_PK, f"{PACE_PREFIX}*")


def member_key(tenant_id: str, user_id: str) -> dict[str, str]:
    return {"pk": tenant_pk(tenant_id), "sk": f"{MEMBER}{user_id}"}


def summary_key(tenant_id: str, user_id: str) -> dict[str, str]:
    return {"pk": SUMMARY_PK, "sk": f"{MEMBER}{tenant_id}#{user_id}"}


def delivery_key(delivery: Delivery) -> dict[str, str]:
    return {"pk": tenant_pk(delivery.tenant_id), "sk": f"{DELIVERY}{delivery.id}"}


def suppression_key(tenant_id: str, address: str) -> dict[str, str]:
    # Lowercased: SES reports the address as the recipient's server spells it.
    return {"pk": tenant_pk(tenant_id), "sk": f"{SUPPRESSED}{address.strip().lower()}"}


def notice_prefix(user_id: str) -> str:
    return f"{NOTICE}{user_id}#"


def device_prefix(user_id: str) -> str:
    return f"{DEVICE}{user_id}#"


def _recipient(item: Item) -> Recipient:
    user_id = str(item["sk"]).removeprefix(MEMBER)
    return Recipient(key=user_id, email=str(item["email"]), user_id=user_id, role=str(item["role"]))


class _Table:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self._table = table
        self._client = client  # None: the container's own client (keel.aws), made on first use

    @property
    def ddb(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()


# -- the read model of identity's tenants and members -------------------------------------------------


class MemberTable(_Table):
    """``Members`` on the table, and the writes identity's events make to it (inside the consumer's
    transaction, with its inbox marker)."""

    def tenant_name(self, tenant_id: str) -> str | None:
        item = get_item(self._table, tenant_pk(tenant_id), TENANT_SK, client=self._client)
        return str(item["name"]) if item else None

    def recipients(self, tenant_id: str, *, roles: frozenset[str]) -> list[Recipient]:
        members = query_all(self._table, tenant_pk(tenant_id), sk_prefix=MEMBER, client=self._client)
        return [_recipient(item) for item in members if item.get("role") in roles]

    def member(self, tenant_id: str, user_id: str) -> Recipient | None:
        key = member_key(tenant_id, user_id)
        item = get_item(self._table, key["pk"], key["sk"], client=self._client)
        return _recipient(item) if item else None

    def preferences(self, tenant_id: str, user_id: str) -> Preferences:
        key = member_key(tenant_id, user_id)
        item = get_item(self._table, key["pk"], key["sk"], client=self._client)
        return Preferences.stored(item.get("preferences") if item else None)

    def save_preferences(self, tenant_id: str, user_id: str, preferences: Preferences) -> None:
        tx = Transaction(self._table)
        tx.update(
            member_key(tenant_id, user_id),
            "SET preferences = :p",
            condition="attribute_exists(pk)",
            values={":p": preferences.as_stored()},
            on_condition_failed=MemberNotKnown("this member is not known to notifications yet: try again in a moment"),
        )
        _summary_choice(tx, tenant_id, user_id, preferences)
        tx.execute(self._client)

    # -- effects of identity's events (added to the consumer's transaction) --

    def tenant_created(self, tx: Transaction, tenant_id: str, name: str) -> None:
        tx.put({"pk": tenant_pk(tenant_id), "sk": TENANT_SK, "name": name})

    def member_joined(self, tx: Transaction, tenant_id: str, user_id: str, *, email: str, role: str) -> None:
        # SET, not a put: a member's preferences outlive a redelivered or reordered joined event.
        tx.update(
            member_key(tenant_id, user_id),
            "SET email = :e, #r = :r",
            names={"#r": "role"},
            values={":e": email, ":r": role},
        )
        _summary_choice(tx, tenant_id, user_id, self.preferences(tenant_id, user_id))

    def role_changed(self, tx: Transaction, tenant_id: str, user_id: str, role: str) -> None:
        tx.update(
            member_key(tenant_id, user_id),
            "SET #r = :r",
            condition="attribute_exists(pk)",
            names={"#r": "role"},
            values={":r": role},
        )

    def member_removed(self, tx: Transaction, tenant_id: str, user_id: str) -> None:
        tx.delete(member_key(tenant_id, user_id))
        tx.delete(summary_key(tenant_id, user_id))


def _summary_choice(tx: Transaction, tenant_id: str, user_id: str, preferences: Preferences) -> None:
    if preferences.choices[Category.PRODUCT][Channel.EMAIL]:
        tx.put(summary_key(tenant_id, user_id))
    else:
        tx.delete(summary_key(tenant_id, user_id))


class SummaryDirectory(_Table):
    """``Directory``: the members who want the weekly summary, a page (one Query) at a time."""

    def summary_recipients(self) -> list[tuple[str, str]]:
        found = []
        for item in query_all(self._table, SUMMARY_PK, sk_prefix=MEMBER, client=self._client):
            tenant_id, _, user_id = str(item["sk"]).removeprefix(MEMBER).partition("#")
            found.append((tenant_id, user_id))
        return found


# -- the delivery log ---------------------------------------------------------------------------------


def _delivery_item(delivery: Delivery) -> Item:
    return {
        **delivery_key(delivery),
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "channel": delivery.channel.value,
        "recipient": delivery.recipient,
        "template": delivery.template,
        "category": delivery.category.value,
        "user_id": delivery.user_id,
    }


def _delivery(tenant_id: str, item: Item) -> Delivery:
    return Delivery(
        id=str(item["sk"]).removeprefix(DELIVERY),
        tenant_id=tenant_id,
        event_id=str(item["event_id"]),
        event_type=str(item["event_type"]),
        channel=Channel(item["channel"]),
        recipient=str(item["recipient"]),
        template=str(item["template"]),
        category=Category(item["category"]),
        user_id=item.get("user_id"),
        status=item["status"],
        attempts=int(item.get("attempts", 0)),
        updated_at=item.get("updated_at"),
        reason=item.get("reason"),
        provider_id=item.get("provider_id"),
    )


class DeliveryTable(_Table):
    """``DeliveryLog`` on the table: one item per delivery, its status moved by conditional writes."""

    def claim(self, delivery: Delivery, *, at: datetime, lease_seconds: int) -> ClaimOutcome:
        now = int(at.timestamp())
        names = {"#s": "status", "#a": "attempts"}
        fields = {k: v for k, v in _delivery_item(delivery).items() if k not in ("pk", "sk") and v is not None}
        sets = ", ".join(f"#{k} = :{k}" for k in fields)
        names |= {f"#{k}": k for k in fields}
        values: dict[str, Any] = {f":{k}": v for k, v in fields.items()}
        values |= {":sending": "sending", ":now": now, ":until": now + lease_seconds, ":one": 1, ":at": iso(at)}
        try:
            self.ddb.update_item(
                TableName=self._table,
                Key=to_attributes(delivery_key(delivery)),
                UpdateExpression=f"SET {sets}, #s = :sending, claimed_until = :until, updated_at = :at ADD #a :one",
                # Free to claim: never claimed, or claimed by someone whose lease ran out (or who let go).
                ConditionExpression="attribute_not_exists(pk) OR (#s = :sending AND claimed_until < :now)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_attributes(values),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            stored = get_item(self._table, **delivery_key(delivery), client=self._client, consistent=True)
            return "busy" if stored and stored.get("status") == "sending" else "done"
        return "claimed"

    def sent(self, delivery: Delivery, *, at: datetime, provider_id: str) -> None:
        self.ddb.update_item(
            TableName=self._table,
            Key=to_attributes(delivery_key(delivery)),
            UpdateExpression="SET #s = :sent, provider_id = :id, updated_at = :at REMOVE claimed_until, reason",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=to_attributes({":sent": "sent", ":id": provider_id, ":at": iso(at)}),
        )

    def release(self, delivery: Delivery, *, reason: str) -> None:
        self.ddb.update_item(
            TableName=self._table,
            Key=to_attributes(delivery_key(delivery)),
            UpdateExpression="SET claimed_until = :zero, reason = :why",
            ExpressionAttributeValues=to_attributes({":zero": 0, ":why": reason[:500]}),
        )

    def failed(self, delivery: Delivery, *, at: datetime, reason: str) -> None:
        tx = Transaction(self._table)
        tx.update(
            delivery_key(delivery),
            "SET #s = :failed, reason = :why, updated_at = :at REMOVE claimed_until",
            names={"#s": "status"},
            values={":failed": "failed", ":why": reason[:500], ":at": iso(at)},
        )
        _publish_failure(tx, delivery, at=at, reason=reason)
        tx.execute(self._client)

    def suppressed(self, tenant_id: str, address: str) -> bool:
        key = suppression_key(tenant_id, address)
        return get_item(self._table, key["pk"], key["sk"], client=self._client) is not None

    def sent_email(self, tenant_id: str, event_id: str, provider_id: str) -> Delivery | None:
        # One event's email deliveries: one per recipient, a short prefix of the tenant's partition.
        prefix = f"{DELIVERY}{event_id}:{Channel.EMAIL.value}:"
        items = query_all(self._table, tenant_pk(tenant_id), sk_prefix=prefix, client=self._client)
        found = [_delivery(tenant_id, item) for item in items if item.get("provider_id") == provider_id]
        return found[0] if found else None

    def rejected_later(self, delivery: Delivery, *, at: datetime, reason: str, suppress: frozenset[str]) -> bool:
        tx = Transaction(self._table)
        tx.update(
            delivery_key(delivery),
            "SET #s = :failed, reason = :why, updated_at = :at REMOVE claimed_until",
            condition="attribute_exists(pk) AND #s <> :failed",
            names={"#s": "status"},
            values={":failed": "failed", ":why": reason[:500], ":at": iso(at)},
            on_condition_failed=_AlreadyFailed(delivery.id),
        )
        for sk in sorted({suppression_key(delivery.tenant_id, address)["sk"] for address in suppress}):
            suppression = {"reason": reason, "delivery_id": delivery.id, "suppressed_at": iso(at)}
            tx.put({"pk": tenant_pk(delivery.tenant_id), "sk": sk, **suppression})
        _publish_failure(tx, delivery, at=at, reason=reason)
        try:
            tx.execute(self._client)
        except _AlreadyFailed:
            return False
        return True

    def delivered_in_app(self, delivery: Delivery, notice: Notice) -> bool:
        tx = Transaction(self._table)
        tx.put_new(
            {**_delivery_item(delivery), "status": "sent", "attempts": 1, "updated_at": notice.created_at},
            on_condition_failed=_AlreadyDelivered(delivery.id),
        )
        tx.put_new(_notice_item(notice))
        try:
            tx.execute(self._client)
        except _AlreadyDelivered:
            return False
        return True

    def page(self, tenant_id: str, *, status: str | None, limit: int, cursor: str | None) -> DeliveryPage:
        if not status:
            page = query_page(
                self._table, tenant_pk(tenant_id), sk_prefix=DELIVERY, limit=limit, cursor=cursor,
                newest_first=True, client=self._client,
            )  # fmt: skip
            return DeliveryPage([_delivery(tenant_id, i) for i in page.items], page.cursor)
        pk = tenant_pk(tenant_id)
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "FilterExpression": "#s = :status",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": to_attributes({":pk": pk, ":prefix": DELIVERY, ":status": status}),
            "Limit": limit,
            "ScanIndexForward": False,
        }
        if cursor:
            params["ExclusiveStartKey"] = decode_cursor(cursor, pk=pk, sk_prefix=DELIVERY)
        response = self.ddb.query(**params)
        items = [_delivery(tenant_id, from_attributes(i)) for i in response.get("Items", [])]
        return DeliveryPage(items, encode_cursor(response.get("LastEvaluatedKey")))


def _publish_failure(tx: Transaction, delivery: Delivery, *, at: datetime, reason: str) -> None:
    channel = "push" if delivery.channel is Channel.PUSH else "email"
    fact = DeliveryFailed(
        delivery_id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        channel=channel,
        template=delivery.template,
        user_id=delivery.user_id,
        reason=reason[:500],
        failed_at=at,
    )
    tx.publish(envelope(fact, tenant_id=delivery.tenant_id, aggregate_id=delivery.id))


class _AlreadyFailed(TransactionFailed):
    def __init__(self, delivery_id: str) -> None:
        super().__init__(f"{delivery_id} had failed already", failed=[0], reasons=["ConditionalCheckFailed"])


class _AlreadyDelivered(TransactionFailed):
    def __init__(self, delivery_id: str) -> None:
        super().__init__(f"{delivery_id} was delivered already", failed=[0], reasons=["ConditionalCheckFailed"])


# -- suppressed addresses -----------------------------------------------------------------------------


def _suppression(item: Item) -> Suppression:
    return Suppression(
        address=str(item["sk"]).removeprefix(SUPPRESSED),
        reason=item["reason"],
        delivery_id=str(item["delivery_id"]),
        suppressed_at=str(item["suppressed_at"]),
    )


class SuppressionTable(_Table):
    """``Suppressions``: the ``SUPPRESSED#`` items ``DeliveryTable.rejected_later`` writes, read and lifted."""

    def page(self, tenant_id: str, *, limit: int, cursor: str | None) -> SuppressionPage:
        page = query_page(
            self._table, tenant_pk(tenant_id), sk_prefix=SUPPRESSED, limit=limit, cursor=cursor, client=self._client
        )
        return SuppressionPage([_suppression(item) for item in page.items], page.cursor)

    def get(self, tenant_id: str, address: str) -> Suppression | None:
        key = suppression_key(tenant_id, address)
        item = get_item(self._table, key["pk"], key["sk"], client=self._client)
        return _suppression(item) if item else None

    def lift(self, tenant_id: str, suppression: Suppression, *, by: str, at: datetime) -> None:
        tx = Transaction(self._table)
        # Only the suppression read: a newer verdict (a complaint, say) written meanwhile is not lifted.
        tx.delete(
            suppression_key(tenant_id, suppression.address),
            condition="#r = :reason AND delivery_id = :delivery AND suppressed_at = :at",
            names={"#r": "reason"},
            values={
                ":reason": suppression.reason,
                ":delivery": suppression.delivery_id,
                ":at": suppression.suppressed_at,
            },
            on_condition_failed=SuppressionChanged("the suppression changed meanwhile: read it again"),
        )
        fact = SuppressionLifted(
            address=suppression.address,
            reason=suppression.reason,
            delivery_id=suppression.delivery_id,
            suppressed_at=datetime.fromisoformat(suppression.suppressed_at),
            lifted_by=by,
            lifted_at=at,
        )
        tx.publish(envelope(fact, tenant_id=tenant_id, aggregate_id=suppression.address))
        tx.execute(self._client)


# -- the inbox ----------------------------------------------------------------------------------------


def _notice_item(notice: Notice) -> Item:
    return {
        "pk": tenant_pk(notice.tenant_id),
        "sk": f"{notice_prefix(notice.user_id)}{notice.id}",
        "title": notice.title,
        "body": notice.body,
        "category": notice.category.value,
        "created_at": notice.created_at,
        "link": notice.link,
    }


def _notice(tenant_id: str, user_id: str, item: Mapping[str, Any]) -> Notice:
    return Notice(
        id=str(item["sk"]).removeprefix(notice_prefix(user_id)),
        tenant_id=tenant_id,
        user_id=user_id,
        title=str(item["title"]),
        body=str(item["body"]),
        category=Category(item["category"]),
        created_at=str(item["created_at"]),
        read_at=item.get("read_at"),
        link=item.get("link"),
    )


class InboxTable(_Table):
    """``Inbox``: each member's notices under their own prefix, so one member never reads another's."""

    def page(self, tenant_id: str, user_id: str, *, unread: bool, limit: int, cursor: str | None) -> NoticePage:
        pk, prefix = tenant_pk(tenant_id), notice_prefix(user_id)
        if not 1 <= limit <= 100:
            raise BadRequest("limit must be between 1 and 100")
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_attributes({":pk": pk, ":prefix": prefix}),
            "Limit": limit,
            "ScanIndexForward": False,
        }
        if unread:
            params["FilterExpression"] = "attribute_not_exists(read_at)"
        if cursor:
            params["ExclusiveStartKey"] = decode_cursor(cursor, pk=pk, sk_prefix=prefix)
        response = self.ddb.query(**params)
        items = [_notice(tenant_id, user_id, from_attributes(i)) for i in response.get("Items", [])]
        return NoticePage(items, encode_cursor(response.get("LastEvaluatedKey")))

    def mark_read(self, tenant_id: str, user_id: str, notice_id: str, *, at: datetime) -> Notice | None:
        key = {"pk": tenant_pk(tenant_id), "sk": f"{notice_prefix(user_id)}{notice_id}"}
        item = get_item(self._table, key["pk"], key["sk"], client=self._client)
        if item is None:
            return None
        notice = _notice(tenant_id, user_id, item)
        if notice.read_at is not None:
            return notice
        tx = Transaction(self._table)
        tx.update(key, "SET read_at = if_not_exists(read_at, :at)", values={":at": iso(at)})
        tx.execute(self._client)
        return replace(notice, read_at=iso(at))

    def mark_all_read(self, tenant_id: str, user_id: str, *, at: datetime) -> int:
        unread = self.page(tenant_id, user_id, unread=True, limit=100, cursor=None).items
        if not unread:
            return 0
        tx = Transaction(self._table)
        for notice in unread:
            tx.update(
                {"pk": tenant_pk(tenant_id), "sk": f"{notice_prefix(user_id)}{notice.id}"},
                "SET read_at = if_not_exists(read_at, :at)",
                values={":at": iso(at)},
            )
        tx.execute(self._client)
        return len(unread)


# -- devices ------------------------------------------------------------------------------------------


class DeviceTable(_Table):
    """``Devices``: each member's push tokens under their own prefix."""

    def add(self, device: Device) -> Device:
        key = {"pk": tenant_pk(device.tenant_id), "sk": f"{device_prefix(device.user_id)}{device.id}"}
        existing = get_item(self._table, key["pk"], key["sk"], client=self._client)
        if existing:
            return _device(device.tenant_id, device.user_id, existing)
        tx = Transaction(self._table)
        tx.put({**key, "token": device.token, "platform": device.platform, "created_at": device.created_at})
        tx.execute(self._client)
        return device

    def of(self, tenant_id: str, user_id: str) -> list[Device]:
        items = query_all(self._table, tenant_pk(tenant_id), sk_prefix=device_prefix(user_id), client=self._client)
        return [_device(tenant_id, user_id, item) for item in items]

    def remove(self, tenant_id: str, user_id: str, device_id: str) -> bool:
        key = {"pk": tenant_pk(tenant_id), "sk": f"{device_prefix(user_id)}{device_id}"}
        tx = Transaction(self._table)
        tx.delete(key, condition="attribute_exists(pk)", on_condition_failed=_NoSuchDevice(device_id))
        try:
            tx.execute(self._client)
        except _NoSuchDevice:
            return False
        return True


class _NoSuchDevice(TransactionFailed):
    def __init__(self, device_id: str) -> None:
        super().__init__(f"{device_id} is not there", failed=[0], reasons=["ConditionalCheckFailed"])


def _device(tenant_id: str, user_id: str, item: Item) -> Device:
    return Device(
        id=str(item["sk"]).removeprefix(device_prefix(user_id)),
        tenant_id=tenant_id,
        user_id=user_id,
        token=str(item["token"]),
        platform=str(item["platform"]),
        created_at=str(item["created_at"]),
    )
