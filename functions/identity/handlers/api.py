"""Identity's API: tenants, the caller, members, invitations and API keys (``/v1``), and the
operators' tenants (``/v1/admin/tenants``).

Each route names the least access it needs; the tenant and the caller come only from the
authorizer's context. ``POST /v1/api-keys`` takes no ``Idempotency-Key``: its response holds the
secret, which must not be kept (the idempotency table would store it to replay it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.identity import wiring
from functions.identity.domain.tenant import TenantStatus
from functions.identity.handlers.views import (
    AcceptedInvitation,
    AcceptInvitation,
    ApiKeyPage,
    InvitationPage,
    InvitationView,
    MemberPage,
    MemberView,
    MeView,
    NewApiKey,
    NewApiKeyView,
    NewInvitation,
    NewTenant,
    OperatorTenantView,
    Reactivation,
    RoleChange,
    Suspension,
    TenantChanges,
    TenantDirectoryPage,
    TenantView,
    api_key_page,
    invitation_page,
    me_view,
    member_page,
    operator_tenant_view,
    tenant_directory_page,
    tenant_view,
)
from keel.http import KeelResolver
from keel.idempotency import idempotent
from keel.observability import instrumented
from keel.tenancy import Access, Role

if TYPE_CHECKING:
    from functions.identity.domain.user import Person

app = KeelResolver(service="identity")

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1024)]


def _person() -> Person:
    # Imported on the first tenant-less request: the domain's objects are not this module's cold start.
    from functions.identity.domain.user import Person  # noqa: PLC0415

    return Person.from_authorizer(app.current_event.request_context.authorizer.raw_event)


def _no_content() -> Response[None]:
    return Response(status_code=204, content_type=None, body=None)


# -- tenants and the caller ---------------------------------------------------------------------------


@app.post(
    "/v1/tenants",
    access=Access.AUTHENTICATED,
    errors=[403],
    status_code=201,
    tags=["identity"],
    summary="Create a tenant",
)
@idempotent(app)
def create_tenant(body: NewTenant) -> TenantView:
    return tenant_view(*wiring.tenants().create(_person(), body.name))


@app.get("/v1/me", access=Access.AUTHENTICATED, errors=[403], tags=["identity"], summary="The caller and their tenants")
def me(limit: Limit = 100, cursor: Cursor = None) -> MeView:
    person = _person()
    return me_view(person, wiring.tenants().memberships(person, limit=limit, cursor=cursor))


@app.get("/v1/tenant", access=Access.MEMBER, errors=[404], tags=["identity"], summary="The current tenant")
def get_tenant() -> TenantView:
    return tenant_view(*wiring.tenants().get(app.tenant()))


@app.patch(
    "/v1/tenant", access=Access.ADMIN, errors=[404], tags=["identity"], summary="Rename the tenant or change its slug"
)
def update_tenant(body: TenantChanges) -> TenantView:
    return tenant_view(*wiring.tenants().update(app.tenant(), name=body.name, slug=body.slug))


# -- members ------------------------------------------------------------------------------------------


@app.get("/v1/members", access=Access.MEMBER, tags=["identity"], summary="The tenant's members")
def list_members(limit: Limit = 50, cursor: Cursor = None) -> MemberPage:
    return member_page(wiring.members().list(app.tenant(), limit=limit, cursor=cursor))


@app.patch("/v1/members/<user_id>", access=Access.ADMIN, tags=["identity"], summary="Change a member's role")
def change_role(user_id: str, body: RoleChange) -> MemberView:
    return MemberView(**vars(wiring.members().change_role(app.tenant(), user_id, body.role)))


@app.delete(
    "/v1/members/<user_id>",
    access=Access.MEMBER,
    status_code=204,
    tags=["identity"],
    summary="Remove a member (admin), or leave (yourself)",
)
def remove_member(user_id: str) -> Response[None]:
    wiring.members().remove(app.tenant(), user_id)
    return _no_content()


# -- invitations --------------------------------------------------------------------------------------


@app.post(
    "/v1/invitations", access=Access.ADMIN, errors=[404], status_code=201, tags=["identity"], summary="Invite by email"
)
@idempotent(app)
def invite(body: NewInvitation) -> InvitationView:
    return InvitationView(**vars(wiring.invitations().invite(app.tenant(), body.email, body.role)))


@app.get("/v1/invitations", access=Access.ADMIN, tags=["identity"], summary="The tenant's invitations")
def list_invitations(limit: Limit = 50, cursor: Cursor = None) -> InvitationPage:
    return invitation_page(wiring.invitations().list(app.tenant(), limit=limit, cursor=cursor))


@app.delete(
    "/v1/invitations/<invitation_id>",
    access=Access.ADMIN,
    status_code=204,
    tags=["identity"],
    summary="Revoke an invitation",
)
def revoke_invitation(invitation_id: str) -> Response[None]:
    wiring.invitations().revoke(app.tenant(), invitation_id)
    return _no_content()


@app.post(
    "/v1/invitations/accept",
    access=Access.AUTHENTICATED,
    errors=[403, 404],
    status_code=201,
    tags=["identity"],
    summary="Accept an invitation (as the invited, signed-in user)",
)
@idempotent(app)
def accept_invitation(body: AcceptInvitation) -> AcceptedInvitation:
    return AcceptedInvitation(**vars(wiring.invitations().accept(_person(), body.token)))


# -- API keys -----------------------------------------------------------------------------------------


@app.post(
    "/v1/api-keys",
    access=Access.ADMIN,
    errors=[404],
    status_code=201,
    tags=["identity"],
    summary="Create an API key (the secret is in this response only)",
)
def create_api_key(body: NewApiKey) -> NewApiKeyView:
    key, secret = wiring.api_keys().create(app.tenant(), body.name, Role(body.role))
    return NewApiKeyView(**vars(key), secret=secret)


@app.get("/v1/api-keys", access=Access.ADMIN, tags=["identity"], summary="The tenant's API keys")
def list_api_keys(limit: Limit = 50, cursor: Cursor = None) -> ApiKeyPage:
    return api_key_page(wiring.api_keys().list(app.tenant(), limit=limit, cursor=cursor))


@app.delete(
    "/v1/api-keys/<api_key_id>", access=Access.ADMIN, status_code=204, tags=["identity"], summary="Revoke an API key"
)
def revoke_api_key(api_key_id: str) -> Response[None]:
    wiring.api_keys().revoke(app.tenant(), api_key_id)
    return _no_content()


# -- the operators' tenants (/v1/admin: operators only, and no tenant's member by being one) ----------

StatusFilter = Annotated[TenantStatus | None, Query()]


@app.get(
    "/v1/admin/tenants", access=Access.OPERATOR, tags=["operators"], summary="Every tenant, newest first (operators)"
)
def list_tenants(status: StatusFilter = None, limit: Limit = 50, cursor: Cursor = None) -> TenantDirectoryPage:
    return tenant_directory_page(wiring.operators().tenants(app.caller, status=status, limit=limit, cursor=cursor))


@app.get("/v1/admin/tenants/<tenant_id>", access=Access.OPERATOR, tags=["operators"], summary="One tenant (operators)")
def operator_get_tenant(tenant_id: str) -> OperatorTenantView:
    return operator_tenant_view(wiring.operators().tenant(app.caller, tenant_id))


@app.post(
    "/v1/admin/tenants/<tenant_id>/suspend",
    access=Access.OPERATOR,
    tags=["operators"],
    summary="Suspend a tenant: every route of it answers 403 tenant_suspended; nothing is deleted (operators)",
)
def suspend_tenant(tenant_id: str, body: Suspension) -> OperatorTenantView:
    return operator_tenant_view(wiring.operators().suspend(app.caller, tenant_id, body.reason))


@app.post(
    "/v1/admin/tenants/<tenant_id>/reactivate",
    access=Access.OPERATOR,
    tags=["operators"],
    summary="Lift a tenant's suspension (operators)",
)
def reactivate_tenant(tenant_id: str, body: Annotated[Reactivation | None, Body()] = None) -> OperatorTenantView:
    reason = body.reason if body else ""
    return operator_tenant_view(wiring.operators().reactivate(app.caller, tenant_id, reason))


@instrumented(app.service, "api")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
