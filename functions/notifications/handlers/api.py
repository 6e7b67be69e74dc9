"""The notifications API: a member's own inbox, preferences and devices; the tenant's delivery log
(admins); and the unsubscribe link of an email, which needs no sign-in (its signed token is the credential).

Each route names the least access it needs; the tenant and the user come only from the authorizer's
context, so a member reaches only their own notices, preferences and devices.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BeforeValidator

from functions.notifications import wiring
from functions.notifications.handlers.views import (
    DeliveryPageView,
    DeviceView,
    NewDevice,
    NoticePageView,
    NoticeView,
    PreferencesBody,
    PreferencesView,
    ReadAllView,
    SuppressionPageView,
    UnsubscribedView,
)
from keel.http import KeelResolver
from keel.observability import instrumented
from keel.tenancy import Access
from keel.text import EmailAddress

app = KeelResolver(service="notifications")

TAGS = ["notifications"]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1024)]
Token = Annotated[str, Query(min_length=1, max_length=1024)]
#: URL-encoded in the path (``@`` as ``%40``): API Gateway's REST API hands the path over still encoded.
#: Then validated (and bounded) as every address is (``keel.text``).
Address = Annotated[EmailAddress, BeforeValidator(unquote), Path()]


@app.get("/v1/notifications", access=Access.MEMBER, tags=TAGS, summary="My in-app notifications, newest first")
def inbox(unread: bool = False, limit: Limit = 50, cursor: Cursor = None) -> NoticePageView:
    me = app.tenant()
    page = wiring.center().inbox(me.tenant_id, me.user_id, unread=unread, limit=limit, cursor=cursor)
    return NoticePageView.of(page)


@app.post(
    "/v1/notifications/<notification_id>/read", access=Access.MEMBER, tags=TAGS, summary="Mark one read", errors=[404]
)
def read(notification_id: str) -> NoticeView:
    me = app.tenant()
    return NoticeView.of(wiring.center().read(me.tenant_id, me.user_id, notification_id))


@app.post("/v1/notifications/read-all", access=Access.MEMBER, tags=TAGS, summary="Mark all mine read")
def read_all() -> ReadAllView:
    me = app.tenant()
    return ReadAllView(marked=wiring.center().read_all(me.tenant_id, me.user_id))


@app.get("/v1/notifications/deliveries", access=Access.ADMIN, tags=TAGS, summary="The tenant's delivery log")
def deliveries(
    status: Annotated[Literal["sending", "sent", "failed"] | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DeliveryPageView:
    page = wiring.center().deliveries(app.tenant().tenant_id, status=status, limit=limit, cursor=cursor)
    return DeliveryPageView.of(page)


@app.get(
    "/v1/notifications/suppressions",
    access=Access.ADMIN,
    tags=TAGS,
    summary="The tenant's suppressed email addresses (hard bounces and complaints), in address order",
)
def suppressions(limit: Limit = 50, cursor: Cursor = None) -> SuppressionPageView:
    page = wiring.suppressions().page(app.tenant().tenant_id, limit=limit, cursor=cursor)
    return SuppressionPageView.of(page)


@app.delete(
    "/v1/notifications/suppressions/<address>",
    access=Access.ADMIN,
    status_code=204,
    tags=TAGS,
    summary="Lift a hard bounce's suppression: email goes to the address again",
    description=(
        "Lifts the suppression of one address in the caller's tenant and publishes "
        "`notifications.suppression.lifted.v1` (who lifted it, and when). Only a hard bounce may be lifted: "
        "a complaint (the recipient marked an email as spam) is their own choice, so lifting one answers "
        "403 `complaint_not_liftable`. An address not suppressed in this tenant is a 404."
    ),
    errors=[403, 404, 409],
)
def lift_suppression(address: Address) -> Response[None]:
    me = app.tenant()
    wiring.suppressions().lift(me.tenant_id, address, by=me.user_id)
    return Response(status_code=204, content_type=None, body=None)


@app.get("/v1/notification-preferences", access=Access.MEMBER, tags=TAGS, summary="My notification preferences")
def preferences() -> PreferencesView:
    me = app.tenant()
    return PreferencesView.of(wiring.center().preferences(me.tenant_id, me.user_id))


@app.put(
    "/v1/notification-preferences",
    access=Access.MEMBER,
    tags=TAGS,
    summary="Change my notification preferences (security cannot be switched off: 422)",
    errors=[404],
)
def change_preferences(body: PreferencesBody) -> PreferencesView:
    from functions.notifications.domain.messages import Category, Channel  # noqa: PLC0415 - first use only

    wanted = {
        Category(category): {Channel(channel): on for channel, on in channels.items() if on is not None}
        for category, channels in body.model_dump(exclude_none=True).items()
    }
    me = app.tenant()
    return PreferencesView.of(wiring.center().set_preferences(me.tenant_id, me.user_id, wanted))


@app.post(
    "/v1/notifications/unsubscribe",
    access=Access.PUBLIC,
    tags=TAGS,
    summary="One-click unsubscribe (RFC 8058): switch off the email category the signed link names",
    errors=[400],
)
def unsubscribe(token: Token) -> UnsubscribedView:
    return UnsubscribedView(category=wiring.center().unsubscribe(token).category.value)


@app.post("/v1/devices", access=Access.MEMBER, status_code=201, tags=TAGS, summary="Register my device for push")
def register_device(body: NewDevice) -> DeviceView:
    me = app.tenant()
    device = wiring.center().register_device(me.tenant_id, me.user_id, token=body.token, platform=body.platform)
    return DeviceView.of(device)


@app.delete(
    "/v1/devices/<device_id>",
    access=Access.MEMBER,
    status_code=204,
    tags=TAGS,
    summary="Forget my device",
    errors=[404],
)
def remove_device(device_id: str) -> Response[None]:
    me = app.tenant()
    wiring.center().remove_device(me.tenant_id, me.user_id, device_id)
    return Response(status_code=204, content_type=None, body=None)


@instrumented(app.service, "api")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
