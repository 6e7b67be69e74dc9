"""Identity's DynamoDB table, ``keel-identity``: the only place that knows its items.

Tenant partition ``pk = TENANT#<tenant id>``:

    TENANT                 the tenant: name, slug, status
    SEATS                  plan + seat limit (billing's copy), counters: members, pending, taken
                           (= members + pending), owners, api_keys; conditions on it enforce the
                           seat limit and the last owner
    MEMBER#<user id>       a membership: email, role, joined_at
    EMAIL#<email>          who holds a seat under an email: a member or a pending invitation
    INVITATION#<inv id>    an invitation: email, role, status, expiry, token hash
    APIKEY#<key id>        an API key: name, visible prefix, role, creator, revoked, secret hash
    OUTBOX#... / INBOX#... the kernel's outbox and inbox

Global lookups, written in the same transaction as their owner item:

    SLUG#<slug>            / SLUG                      -> tenant id (slugs are unique)
    USER#<user id>         / PROFILE                   the user: issuer, subject, email
    USER#<user id>         / TENANT#<tenant id>        membership index (``GET /v1/me`` is one Query)
    INVITE#<sha256(token)> / INVITE                    the pending invitation (gone once closed)
    APIKEY#<sha256(secret)>/ APIKEY                    tenant, role, plan (gone once revoked)
    EXPIRES#<yyyy-mm-ddThh>/ INVITATION#<tenant>#<id>  pending invitations by hour of expiry
    JOB#expire-invitations / CURSOR                    the expiry sweep's progress

No Scan anywhere. Reads are GetItem / BatchGetItem (consistent: they precede writes and the
authorizer) or one Query; each write is one TransactWriteItems with its outbox events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.identity.domain.api_key import MAX_ACTIVE_API_KEYS, ApiKey, ApiKeyGrant
from functions.identity.domain.errors import (
    AccessChanged,
    AlreadyMember,
    AlreadyMemberOrInvited,
    InvitationNotPending,
    LastOwner,
    SeatLimitReached,
    SlugTaken,
)
from functions.identity.domain.invitation import Invitation, InvitationStatus
from functions.identity.domain.membership import Membership
from functions.identity.domain.ports import ApiKeyPage, InvitationPage, MemberGrant, MembershipPage
from functions.identity.domain.tenant import Seats, Tenant, TenantStatus
from functions.identity.domain.user import UserProfile
from keel import aws, ids
from keel.clock import iso
from keel.errors import KeelError
from keel.events import Envelope
from keel.store import (
    Item,
    Transaction,
    entity_sk,
    from_attributes,
    get_item,
    query_page,
    tenant_pk,
    to_attributes,
)
from keel.tenancy import Role, TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TENANT_SK = "TENANT"
SEATS_SK = "SEATS"
SWEEP_PK = "JOB#expire-invitations"
_ONE = {":one": 1}
_SEAT_FIELDS = ("members", "pending", "taken", "owners", "api_keys", "seat_limit", "plan")


# -- keys ---------------------------------------------------------------------------------------


def _key(pk: str, sk: str) -> dict[str, str]:
    return {"pk": pk, "sk": sk}


def tenant_key(tenant_id: str) -> dict[str, str]:
    return _key(tenant_pk(tenant_id), TENANT_SK)


def seats_key(tenant_id: str) -> dict[str, str]:
    return _key(tenant_pk(tenant_id), SEATS_SK)


def member_key(tenant_id: str, user_id: str) -> dict[str, str]:
    return _key(tenant_pk(tenant_id), entity_sk("MEMBER", user_id))


def email_key(tenant_id: str, email: str) -> dict[str, str]:
    return _key(tenant_pk(tenant_id), f"EMAIL#{email}")


def invitation_key(tenant_id: str, invitation_id: str) -> dict[str, str]:
    return _key(tenant_pk(tenant_id), entity_sk("INVITATION", invitation_id))


def api_key_key(tenant_id: str, api_key_id: str) -> dict[str, str]:
    return _key(tenant_pk(tenant_id), entity_sk("APIKEY", api_key_id))


def slug_key(slug: str) -> dict[str, str]:
    return _key(f"SLUG#{slug}", "SLUG")


def profile_key(user_id: str) -> dict[str, str]:
    return _key(f"USER#{user_id}", "PROFILE")


def user_membership_key(user_id: str, tenant_id: str) -> dict[str, str]:
    return _key(f"USER#{user_id}", f"TENANT#{tenant_id}")


def invite_lookup_key(token_hash: str) -> dict[str, str]:
    return _key(f"INVITE#{token_hash}", "INVITE")


def api_key_lookup_key(secret_hash: str) -> dict[str, str]:
    return _key(f"APIKEY#{secret_hash}", "APIKEY")


def expiry_pk(hour: datetime) -> str:
    return f"EXPIRES#{hour.strftime('%Y-%m-%dT%H')}"


def expiry_key(invitation: Invitation) -> dict[str, str]:
    return _key(expiry_pk(invitation.expires_at), f"INVITATION#{invitation.tenant_id}#{invitation.id}")


# -- items <-> domain ---------------------------------------------------------------------------


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _maybe_time(value: Any) -> datetime | None:
    return _time(value) if value else None


def _tenant_item(tenant: Tenant) -> Item:
    return {
        **tenant_key(tenant.id),
        "id": tenant.id,
        "name": tenant.name,
        "slug": tenant.slug,
        "status": tenant.status.value,
        "created_at": iso(tenant.created_at),
        "created_by": tenant.created_by,
    }


def _tenant(item: Mapping[str, Any]) -> Tenant:
    return Tenant(
        id=item["id"],
        name=item["name"],
        slug=item["slug"],
        status=TenantStatus(item["status"]),
        created_at=_time(item["created_at"]),
        created_by=item["created_by"],
        version=int(item["version"]),
    )


def _seats(item: Mapping[str, Any]) -> Seats:
    return Seats(
        plan=item["plan"],
        seat_limit=int(item["seat_limit"]) if item.get("seat_limit") is not None else None,
        members=int(item["members"]),
        pending=int(item["pending"]),
        owners=int(item["owners"]),
        api_keys=int(item.get("api_keys", 0)),
        entitlements_effective_at=_maybe_time(item.get("entitlements_effective_at")),
        version=int(item["version"]),
    )


def _member_item(member: Membership) -> Item:
    return {
        **member_key(member.tenant_id, member.user_id),
        "tenant_id": member.tenant_id,
        "user_id": member.user_id,
        "email": member.email,
        "role": member.role.value,
        "joined_at": iso(member.joined_at),
        "invitation_id": member.invitation_id,
    }


def _member(item: Mapping[str, Any]) -> Membership:
    return Membership(
        tenant_id=item["tenant_id"],
        user_id=item["user_id"],
        email=item["email"],
        role=Role(item["role"]),
        joined_at=_time(item["joined_at"]),
        invitation_id=item.get("invitation_id"),
        version=int(item.get("version", 1)),
    )


def _user_membership_item(member: Membership) -> Item:
    return {
        **user_membership_key(member.user_id, member.tenant_id),
        "tenant_id": member.tenant_id,
        "user_id": member.user_id,
        "email": member.email,
        "role": member.role.value,
        "joined_at": iso(member.joined_at),
    }


def _profile_item(profile: UserProfile) -> Item:
    return {
        **profile_key(profile.user_id),
        "user_id": profile.user_id,
        "email": profile.email,
        "issuer": profile.issuer,
        "subject": profile.subject,
        "updated_at": iso(profile.updated_at),
    }


def _invitation_fields(invitation: Invitation) -> Item:
    return {
        "id": invitation.id,
        "tenant_id": invitation.tenant_id,
        "email": invitation.email,
        "role": invitation.role.value,
        "status": invitation.status.value,
        "invited_by": invitation.invited_by,
        "created_at": iso(invitation.created_at),
        "expires_at": iso(invitation.expires_at),
        "token_hash": invitation.token_hash,
        "accepted_by": invitation.accepted_by,
        "closed_at": iso(invitation.closed_at) if invitation.closed_at else None,
        "closed_by": invitation.closed_by,
    }


def _invitation(item: Mapping[str, Any]) -> Invitation:
    return Invitation(
        id=item["id"],
        tenant_id=item["tenant_id"],
        email=item["email"],
        role=Role(item["role"]),
        status=InvitationStatus(item["status"]),
        invited_by=item["invited_by"],
        created_at=_time(item["created_at"]),
        expires_at=_time(item["expires_at"]),
        token_hash=item["token_hash"],
        accepted_by=item.get("accepted_by"),
        closed_at=_maybe_time(item.get("closed_at")),
        closed_by=item.get("closed_by"),
        version=int(item.get("version", 1)),
    )


def _api_key_item(key: ApiKey) -> Item:
    return {
        **api_key_key(key.tenant_id, key.id),
        "id": key.id,
        "tenant_id": key.tenant_id,
        "name": key.name,
        "prefix": key.prefix,
        "role": key.role.value,
        "created_by": key.created_by,
        "created_at": iso(key.created_at),
        "secret_hash": key.secret_hash,
        "revoked": key.revoked,
        "revoked_at": iso(key.revoked_at) if key.revoked_at else None,
        "revoked_by": key.revoked_by,
    }


def _api_key(item: Mapping[str, Any]) -> ApiKey:
    return ApiKey(
        id=item["id"],
        tenant_id=item["tenant_id"],
        name=item["name"],
        prefix=item["prefix"],
        role=Role(item["role"]),
        created_by=item["created_by"],
        created_at=_time(item["created_at"]),
        secret_hash=item["secret_hash"],
        revoked=bool(item.get("revoked", False)),
        revoked_at=_maybe_time(item.get("revoked_at")),
        revoked_by=item.get("revoked_by"),
        version=int(item.get("version", 1)),
    )


# -- the store ----------------------------------------------------------------------------------


class IdentityTable:
    """Implements the domain's ``IdentityStore`` and ``AccessStore`` on one DynamoDB table."""

    def __init__(
        self,
        table: str,
        *,
        client: Callable[[], DynamoDBClient] = aws.dynamodb,
        actor: TenantContext | None = None,
    ) -> None:
        self.table = table
        self._client = client
        self._actor = actor

    def acting_as(self, actor: TenantContext) -> IdentityTable:
        return IdentityTable(self.table, client=self._client, actor=actor)

    # -- helpers ----------------------------------------------------------------------------------

    def _tx(self) -> Transaction:
        tx = Transaction(self.table)
        if self._actor is not None:
            self._check_actor(tx, self._actor)
        return tx

    @staticmethod
    def _check_actor(tx: Transaction, actor: TenantContext) -> None:
        # The authorizer's answer may be up to AUTHORIZER_CACHE_SECONDS old; a write re-checks it here,
        # in its own transaction, so a removed member or a revoked key cannot act (or mint access).
        changed = AccessChanged("your access to this tenant changed; sign in again or use a current key")
        if ids.is_id("key", actor.user_id):
            tx.check(
                api_key_key(actor.tenant_id, actor.user_id),
                "attribute_exists(pk) AND #revoked = :no",
                names={"#revoked": "revoked"},
                values={":no": False},
                on_condition_failed=changed,
            )
            return
        at_least = [role.value for role in Role if role.at_least(actor.role)]
        placeholders = {f":r{i}": value for i, value in enumerate(at_least)}
        tx.check(
            member_key(actor.tenant_id, actor.user_id),
            f"#role IN ({', '.join(placeholders)})",
            names={"#role": "role"},
            values=placeholders,
            on_condition_failed=changed,
        )

    def _execute(self, tx: Transaction) -> None:
        tx.execute(self._client())

    def _get(self, key: Mapping[str, str]) -> Item | None:
        return get_item(self.table, key["pk"], key["sk"], client=self._client(), consistent=True)

    def _batch_get(self, keys: Sequence[Mapping[str, str]]) -> dict[tuple[str, str], Item]:
        """Items by (pk, sk), in one BatchGetItem (retrying only keys DynamoDB left unprocessed)."""
        found: dict[tuple[str, str], Item] = {}
        request: dict[str, Any] = {self.table: {"Keys": [to_attributes(k) for k in keys], "ConsistentRead": True}}
        for _ in range(3):
            response = self._client().batch_get_item(RequestItems=request)
            for raw in response.get("Responses", {}).get(self.table, []):
                item = from_attributes(raw)
                found[(item["pk"], item["sk"])] = item
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                break
        return found

    @staticmethod
    def _publish(tx: Transaction, events: Sequence[Envelope]) -> None:
        for event in events:
            tx.publish(event)

    @staticmethod
    def _seats_change(
        tx: Transaction,
        tenant_id: str,
        *,
        members: int = 0,
        pending: int = 0,
        owners: int = 0,
        api_keys: int = 0,
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        on_condition_failed: KeelError | None = None,
    ) -> None:
        """Move the seat counters (and the version) in ``tx``; ``taken`` follows members + pending.

        ``condition`` may name ``#members``, ``#pending``, ``#taken``, ``#owners``, ``#api_keys``,
        ``#seat_limit`` and ``#plan``; it always also requires the tenant to exist.
        """
        deltas = {
            "members": members,
            "pending": pending,
            "taken": members + pending,
            "owners": owners,
            "api_keys": api_keys,
        }
        moves = {name: delta for name, delta in deltas.items() if delta}
        expression = "ADD #version :one" + "".join(f", #{name} :d_{name}" for name in moves)
        full_condition = f"attribute_exists(pk) AND ({condition})" if condition else "attribute_exists(pk)"
        text = f"{expression} {full_condition}"
        names = {f"#{n}": n for n in (*_SEAT_FIELDS, "version") if f"#{n}" in text}
        all_values: dict[str, Any] = {**_ONE, **{f":d_{name}": delta for name, delta in moves.items()}}
        all_values.update(values or {})
        tx.update(
            seats_key(tenant_id),
            expression,
            condition=full_condition,
            names=names,
            values=all_values,
            on_condition_failed=on_condition_failed,
        )

    # -- the authorizer's reads (AccessStore) ------------------------------------------------------

    def member_grant(self, tenant_id: str, user_id: str) -> MemberGrant | None:
        """The member's role and the tenant's plan: one BatchGetItem."""
        member, seats = member_key(tenant_id, user_id), seats_key(tenant_id)
        found = self._batch_get([member, seats])
        member_item = found.get((member["pk"], member["sk"]))
        seats_item = found.get((seats["pk"], seats["sk"]))
        if member_item is None or seats_item is None:
            return None
        return MemberGrant(role=Role(member_item["role"]), plan=str(seats_item["plan"]))

    def api_key_grant(self, secret_hash: str) -> ApiKeyGrant | None:
        """The key's tenant, role and the tenant's plan: one GetItem."""
        item = self._get(api_key_lookup_key(secret_hash))
        if item is None:
            return None
        return ApiKeyGrant(
            api_key_id=item["api_key_id"], tenant_id=item["tenant_id"], role=Role(item["role"]), plan=item["plan"]
        )

    # -- tenants ----------------------------------------------------------------------------------

    def create_tenant(
        self, tenant: Tenant, seats: Seats, owner: Membership, profile: UserProfile, events: Sequence[Envelope]
    ) -> None:
        tx = self._tx()
        tx.put_new(slug_key(tenant.slug) | {"tenant_id": tenant.id}, on_condition_failed=SlugTaken("slug taken"))
        tx.put_versioned(_tenant_item(tenant), expected_version=None)
        tx.put_versioned(
            {
                **seats_key(tenant.id),
                "plan": seats.plan,
                "seat_limit": seats.seat_limit,
                "members": seats.members,
                "pending": seats.pending,
                "taken": seats.taken,
                "owners": seats.owners,
                "api_keys": seats.api_keys,
            },
            expected_version=None,
        )
        tx.put_versioned(_member_item(owner), expected_version=None)
        tx.put_new(email_key(tenant.id, owner.email) | {"holder": "member", "user_id": owner.user_id})
        tx.put_new(_user_membership_item(owner))
        tx.put(_profile_item(profile))
        self._publish(tx, events)
        self._execute(tx)

    def tenant(self, tenant_id: str) -> Tenant | None:
        item = self._get(tenant_key(tenant_id))
        return _tenant(item) if item else None

    def seats(self, tenant_id: str) -> Seats | None:
        item = self._get(seats_key(tenant_id))
        return _seats(item) if item else None

    def tenant_with_seats(self, tenant_id: str) -> tuple[Tenant, Seats] | None:
        tenant, seats = tenant_key(tenant_id), seats_key(tenant_id)
        found = self._batch_get([tenant, seats])
        tenant_item = found.get((tenant["pk"], tenant["sk"]))
        seats_item = found.get((seats["pk"], seats["sk"]))
        if tenant_item is None or seats_item is None:
            return None
        return _tenant(tenant_item), _seats(seats_item)

    def update_tenant(self, tenant: Tenant, *, previous_slug: str) -> None:
        tx = self._tx()
        tx.put_versioned(_tenant_item(tenant), expected_version=tenant.version)
        if tenant.slug != previous_slug:
            tx.delete(slug_key(previous_slug), condition="tenant_id = :tenant", values={":tenant": tenant.id})
            tx.put_new(
                slug_key(tenant.slug) | {"tenant_id": tenant.id},
                on_condition_failed=SlugTaken(f"the slug {tenant.slug!r} is taken"),
            )
        self._execute(tx)

    def memberships_of(self, user_id: str, *, limit: int, cursor: str | None) -> MembershipPage:
        page = query_page(
            self.table, f"USER#{user_id}", sk_prefix="TENANT#", limit=limit, cursor=cursor, client=self._client()
        )
        return MembershipPage(items=[_member(i) for i in page.items], cursor=page.cursor)

    # -- members ----------------------------------------------------------------------------------

    def members(self, tenant_id: str, *, limit: int, cursor: str | None) -> MembershipPage:
        page = query_page(
            self.table,
            tenant_pk(tenant_id),
            sk_prefix=entity_sk("MEMBER"),
            limit=limit,
            cursor=cursor,
            client=self._client(),
        )
        return MembershipPage(items=[_member(i) for i in page.items], cursor=page.cursor)

    def member_with_seats(self, tenant_id: str, user_id: str) -> tuple[Membership | None, Seats | None]:
        member, seats = member_key(tenant_id, user_id), seats_key(tenant_id)
        found = self._batch_get([member, seats])
        member_item = found.get((member["pk"], member["sk"]))
        seats_item = found.get((seats["pk"], seats["sk"]))
        return (_member(member_item) if member_item else None), (_seats(seats_item) if seats_item else None)

    def change_role(self, member: Membership, role: Role, event: Envelope) -> None:
        changed = member.with_role(role)
        tx = self._tx()
        tx.put_versioned(_member_item(changed), expected_version=member.version)
        tx.put(_user_membership_item(changed))
        if member.role is Role.OWNER and role is not Role.OWNER:
            self._seats_change(
                tx,
                member.tenant_id,
                owners=-1,
                condition="#owners > :one",
                on_condition_failed=LastOwner("the last owner cannot be demoted"),
            )
        elif role is Role.OWNER and member.role is not Role.OWNER:
            self._seats_change(tx, member.tenant_id, owners=1)
        tx.publish(event)
        self._execute(tx)

    def remove_member(self, member: Membership, event: Envelope) -> None:
        tx = self._tx()
        tx.delete(
            member_key(member.tenant_id, member.user_id),
            condition="#version = :version",
            names={"#version": "version"},
            values={":version": member.version},
        )
        tx.delete(user_membership_key(member.user_id, member.tenant_id))
        tx.delete(email_key(member.tenant_id, member.email))
        if member.role is Role.OWNER:
            self._seats_change(
                tx,
                member.tenant_id,
                members=-1,
                owners=-1,
                condition="#owners > :one",
                on_condition_failed=LastOwner("the last owner cannot leave or be removed"),
            )
        else:
            self._seats_change(tx, member.tenant_id, members=-1)
        tx.publish(event)
        self._execute(tx)

    # -- invitations ------------------------------------------------------------------------------

    def invite(self, invitation: Invitation, event: Envelope) -> None:
        tx = self._tx()
        fields = _invitation_fields(invitation)
        self._seats_change(
            tx,
            invitation.tenant_id,
            pending=1,
            condition="attribute_not_exists(#seat_limit) OR #taken < #seat_limit",
            on_condition_failed=SeatLimitReached("every seat is taken (pending invitations hold one); free one first"),
        )
        tx.put_new(
            email_key(invitation.tenant_id, invitation.email)
            | {"holder": "invitation", "invitation_id": invitation.id},
            on_condition_failed=AlreadyMemberOrInvited(f"{invitation.email} is already a member or invited"),
        )
        tx.put_versioned(invitation_key(invitation.tenant_id, invitation.id) | fields, expected_version=None)
        tx.put_new(invite_lookup_key(invitation.token_hash) | fields | {"version": invitation.version})
        tx.put_new(expiry_key(invitation) | {"tenant_id": invitation.tenant_id, "invitation_id": invitation.id})
        tx.publish(event)
        self._execute(tx)

    def invitation(self, tenant_id: str, invitation_id: str) -> Invitation | None:
        item = self._get(invitation_key(tenant_id, invitation_id))
        return _invitation(item) if item else None

    def invitations(self, tenant_id: str, *, limit: int, cursor: str | None) -> InvitationPage:
        page = query_page(
            self.table,
            tenant_pk(tenant_id),
            sk_prefix=entity_sk("INVITATION"),
            limit=limit,
            cursor=cursor,
            client=self._client(),
        )
        return InvitationPage(items=[_invitation(i) for i in page.items], cursor=page.cursor)

    def pending_invitation(self, token_hash: str) -> Invitation | None:
        item = self._get(invite_lookup_key(token_hash))
        return _invitation(item) if item else None

    def _close(self, tx: Transaction, closed: Invitation) -> None:
        """The writes every closing shares: the invitation (if still the version read), its lookups."""
        tx.put_versioned(
            invitation_key(closed.tenant_id, closed.id) | _invitation_fields(closed),
            expected_version=closed.version,
            on_condition_failed=InvitationNotPending("this invitation changed meanwhile; it is no longer pending"),
        )
        tx.delete(invite_lookup_key(closed.token_hash))
        tx.delete(expiry_key(closed))

    def accept_invitation(
        self, accepted: Invitation, member: Membership, profile: UserProfile, event: Envelope
    ) -> None:
        tx = self._tx()
        self._seats_change(
            tx,
            member.tenant_id,
            members=1,
            pending=-1,
            owners=1 if member.role is Role.OWNER else 0,
            condition="attribute_not_exists(#seat_limit) OR #members < #seat_limit",
            on_condition_failed=SeatLimitReached("the tenant has no free seat left; ask an admin to free one"),
        )
        self._close(tx, accepted)
        tx.put_versioned(
            _member_item(member),
            expected_version=None,
            on_condition_failed=AlreadyMember("you are already a member of this tenant"),
        )
        tx.put(
            email_key(member.tenant_id, member.email) | {"holder": "member", "user_id": member.user_id},
            condition="invitation_id = :invitation",
            values={":invitation": accepted.id},
        )
        tx.put(_user_membership_item(member))
        tx.put(_profile_item(profile))
        tx.publish(event)
        self._execute(tx)

    def close_invitation(self, closed: Invitation) -> None:
        """Revoke or expire: the invitation's seat and email go back to the tenant."""
        tx = self._tx()
        self._close(tx, closed)
        tx.delete(
            email_key(closed.tenant_id, closed.email),
            condition="invitation_id = :invitation",
            values={":invitation": closed.id},
        )
        self._seats_change(tx, closed.tenant_id, pending=-1)
        self._execute(tx)

    def invitations_expiring_in(self, hour: datetime) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        cursor: str | None = None
        while True:
            page = query_page(
                self.table, expiry_pk(hour), sk_prefix="INVITATION#", limit=100, cursor=cursor, client=self._client()
            )
            out += [(i["tenant_id"], i["invitation_id"]) for i in page.items]
            if page.cursor is None:
                return out
            cursor = page.cursor

    def expiry_sweep_done_until(self) -> datetime | None:
        item = self._get(_key(SWEEP_PK, "CURSOR"))
        return _time(item["hour"]) if item else None

    def record_expiry_sweep(self, hour: datetime) -> None:
        tx = self._tx()
        tx.put(_key(SWEEP_PK, "CURSOR") | {"hour": iso(hour)})
        self._execute(tx)

    # -- API keys ---------------------------------------------------------------------------------

    def create_api_key(self, key: ApiKey, *, plan: str, event: Envelope) -> None:
        tx = self._tx()
        # The plan copied onto the lookup must be the plan now: a concurrent entitlements change
        # either fails this condition or, having read the version this bumps, retries and sees the key.
        self._seats_change(
            tx,
            key.tenant_id,
            api_keys=1,
            condition="#plan = :plan AND #api_keys < :max",
            values={":plan": plan, ":max": MAX_ACTIVE_API_KEYS},
        )
        tx.put_versioned(_api_key_item(key), expected_version=None)
        tx.put_new(
            api_key_lookup_key(key.secret_hash)
            | {"tenant_id": key.tenant_id, "api_key_id": key.id, "role": key.role.value, "plan": plan}
        )
        tx.publish(event)
        self._execute(tx)

    def api_key(self, tenant_id: str, api_key_id: str) -> ApiKey | None:
        item = self._get(api_key_key(tenant_id, api_key_id))
        return _api_key(item) if item else None

    def api_keys(self, tenant_id: str, *, limit: int, cursor: str | None) -> ApiKeyPage:
        page = query_page(
            self.table,
            tenant_pk(tenant_id),
            sk_prefix=entity_sk("APIKEY"),
            limit=limit,
            cursor=cursor,
            client=self._client(),
        )
        return ApiKeyPage(items=[_api_key(i) for i in page.items], cursor=page.cursor)

    def revoke_api_key(self, revoked: ApiKey, event: Envelope) -> None:
        tx = self._tx()
        tx.put_versioned(_api_key_item(revoked), expected_version=revoked.version)
        tx.delete(api_key_lookup_key(revoked.secret_hash))
        self._seats_change(tx, revoked.tenant_id, api_keys=-1)
        tx.publish(event)
        self._execute(tx)

    # -- entitlements (the consumer) ------------------------------------------------------------

    def active_api_key_hashes(self, tenant_id: str) -> list[str]:
        hashes: list[str] = []
        cursor: str | None = None
        while True:
            page = self.api_keys(tenant_id, limit=100, cursor=cursor)
            hashes += [k.secret_hash for k in page.items if not k.revoked]
            if page.cursor is None:
                return hashes
            cursor = page.cursor

    def add_entitlements(
        self,
        tx: Transaction,
        *,
        tenant_id: str,
        plan: str,
        seat_limit: int | None,
        effective_at: datetime,
        seats_version: int,
        api_key_hashes: Sequence[str],
    ) -> None:
        limit = "SET #seat_limit = :limit" if seat_limit is not None else "REMOVE #seat_limit SET"
        values: dict[str, Any] = {
            ":plan": plan,
            ":at": iso(effective_at),
            ":expected": seats_version,
            **_ONE,
        }
        if seat_limit is not None:
            values[":limit"] = seat_limit
        separator = "," if seat_limit is not None else ""
        tx.update(
            seats_key(tenant_id),
            f"{limit}{separator} #plan = :plan, #at = :at, #version = #version + :one",
            condition="#version = :expected",
            names={
                "#seat_limit": "seat_limit",
                "#plan": "plan",
                "#at": "entitlements_effective_at",
                "#version": "version",
            },
            values=values,
        )
        for secret_hash in api_key_hashes:
            tx.update(
                api_key_lookup_key(secret_hash),
                "SET #plan = :plan",
                condition="attribute_exists(pk)",
                names={"#plan": "plan"},
                values={":plan": plan},
            )
