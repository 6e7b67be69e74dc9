"""What the identity API reads and answers: request bodies (``extra="forbid"``, so a tenant id,
role or plan slipped into a body where it does not belong is a 422), response models, and the small
functions that shape the domain's objects into those responses."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from functions.identity.domain.invitation_status import InvitationStatus
from functions.identity.domain.slugs import SLUG_PATTERN
from functions.identity.domain.tenant import MAX_REASON_LENGTH, TenantStatus
from keel.tenancy import Role
from keel.text import EmailAddress, HumanText
from keel.views import Body, View

if TYPE_CHECKING:
    from functions.identity.domain.api_key import ApiKey
    from functions.identity.domain.invitation import Invitation
    from functions.identity.domain.membership import Membership
    from functions.identity.domain.ports import Page, TenantDetails
    from functions.identity.domain.tenant import Seats, Tenant, TenantSummary
    from functions.identity.domain.user import Person


#: Invitation tokens travel in a URL: unreserved characters only.
URL_UNRESERVED = r"^[A-Za-z0-9._~-]+$"


class NewTenant(Body):
    name: HumanText = Field(min_length=1, max_length=100, examples=["Acme Corp"])


def _some_change(schema: dict[str, Any]) -> None:
    # The schema says what the model checks: at least one field, and null is no value to send.
    schema["minProperties"] = 1
    for name, field in schema.get("properties", {}).items():
        kept = [option for option in field.pop("anyOf", []) if option.get("type") != "null"]
        field.pop("default", None)
        schema["properties"][name] = {**field, **kept[0]} if len(kept) == 1 else field


class TenantChanges(Body):
    model_config = ConfigDict(json_schema_extra=_some_change)

    name: HumanText | None = Field(default=None, min_length=1, max_length=100)
    slug: str | None = Field(default=None, pattern=SLUG_PATTERN)

    @field_validator("name", "slug", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # an absent field is left as it is; null is no name or slug
            raise ValueError("send a value, or leave the field out")
        return value

    @model_validator(mode="after")
    def _something_to_change(self) -> TenantChanges:
        if self.name is None and self.slug is None:
            raise ValueError("send a name or a slug")
        return self


class RoleChange(Body):
    role: Role


class NewInvitation(Body):
    email: EmailAddress = Field(examples=["grace@example.com"])
    role: Role = Role.MEMBER


class AcceptInvitation(Body):
    token: str = Field(min_length=16, max_length=256, pattern=URL_UNRESERVED)


class NewApiKey(Body):
    name: HumanText = Field(min_length=1, max_length=100, examples=["CI deploys"])
    role: Literal["admin", "member"] = "member"


class Suspension(Body):
    reason: HumanText = Field(min_length=1, max_length=MAX_REASON_LENGTH, examples=["payment fraud, ticket 4411"])


class Reactivation(Body):
    reason: HumanText = Field(default="", max_length=MAX_REASON_LENGTH, examples=["cleared by support"])


class TenantView(View):
    id: str
    name: str
    slug: str
    status: str
    plan: str
    seat_limit: int | None
    seats_taken: int
    members: int
    pending_invitations: int
    created_at: datetime
    version: int


class TenantSummaryView(View):
    id: str
    name: str
    slug: str
    status: TenantStatus
    created_at: datetime


class TenantDirectoryPage(View):
    items: list[TenantSummaryView]
    cursor: str | None


class SuspensionView(View):
    at: datetime
    by: str = Field(description="user id of the operator who suspended the tenant")
    reason: str


class OperatorTenantView(View):
    """A tenant as an operator sees it: its record and seat ledger, never its members' data."""

    id: str
    name: str
    slug: str
    status: TenantStatus
    plan: str
    seat_limit: int | None
    seats_taken: int
    members: int
    pending_invitations: int
    api_keys: int
    owners: list[str] = Field(description="the owners' emails")
    created_at: datetime
    suspension: SuspensionView | None


class MembershipView(View):
    tenant_id: str
    role: Role
    joined_at: datetime


class MeView(View):
    user_id: str
    email: str | None
    memberships: list[MembershipView]
    cursor: str | None


class MemberView(View):
    user_id: str
    email: str
    role: Role
    joined_at: datetime


class MemberPage(View):
    items: list[MemberView]
    cursor: str | None


class InvitationView(View):
    id: str
    email: str
    role: Role
    status: InvitationStatus
    invited_by: str
    created_at: datetime
    expires_at: datetime


class InvitationPage(View):
    items: list[InvitationView]
    cursor: str | None


class AcceptedInvitation(View):
    tenant_id: str
    user_id: str
    role: Role


class ApiKeyView(View):
    id: str
    name: str
    prefix: str
    role: Role
    created_by: str
    created_at: datetime
    revoked: bool
    revoked_at: datetime | None


class NewApiKeyView(ApiKeyView):
    secret: str = Field(description="shown once: store it now, Keel keeps only its hash")


class ApiKeyPage(View):
    items: list[ApiKeyView]
    cursor: str | None


# -- the domain's objects as the API answers them (a view takes its own fields, nothing else) ------------


def tenant_view(tenant: Tenant, seats: Seats) -> TenantView:
    return TenantView(
        **vars(tenant) | {"status": tenant.status.value},
        plan=seats.plan,
        seat_limit=seats.seat_limit,
        seats_taken=seats.taken,
        members=seats.members,
        pending_invitations=seats.pending,
    )


def operator_tenant_view(details: TenantDetails) -> OperatorTenantView:
    tenant, seats = details.tenant, details.seats
    suspension = tenant.suspension
    return OperatorTenantView(
        id=tenant.id,
        name=tenant.name,
        slug=tenant.slug,
        status=tenant.status,
        plan=seats.plan,
        seat_limit=seats.seat_limit,
        seats_taken=seats.taken,
        members=seats.members,
        pending_invitations=seats.pending,
        api_keys=seats.api_keys,
        owners=list(seats.owner_emails),
        created_at=tenant.created_at,
        suspension=SuspensionView(**vars(suspension)) if suspension else None,
    )


def tenant_directory_page(page: Page[TenantSummary]) -> TenantDirectoryPage:
    items = [TenantSummaryView(**vars(t)) for t in page.items]
    return TenantDirectoryPage(items=items, cursor=page.cursor)


def me_view(person: Person, page: Page[Membership]) -> MeView:
    memberships = [MembershipView(**vars(m)) for m in page.items]
    return MeView(user_id=person.user_id, email=person.email, memberships=memberships, cursor=page.cursor)


def member_page(page: Page[Membership]) -> MemberPage:
    return MemberPage(items=[MemberView(**vars(m)) for m in page.items], cursor=page.cursor)


def invitation_page(page: Page[Invitation]) -> InvitationPage:
    return InvitationPage(items=[InvitationView(**vars(i)) for i in page.items], cursor=page.cursor)


def api_key_page(page: Page[ApiKey]) -> ApiKeyPage:
    return ApiKeyPage(items=[ApiKeyView(**vars(k)) for k in page.items], cursor=page.cursor)
