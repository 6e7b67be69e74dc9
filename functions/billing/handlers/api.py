"""The billing context's API (``/v1/billing``): the caller's tenant's billing items.

Each route names the least access it needs; the tenant comes only from the authorizer's context.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.billing import wiring
from functions.billing.handlers.views import BillingItemPageView, BillingItemView, NewBillingItem
from keel.http import KeelResolver
from keel.idempotency import idempotent
from keel.tenancy import Access

app = KeelResolver(service="billing")

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1024)]


@app.post("/v1/billing", access=Access.ADMIN, status_code=201, tags=["billing"], summary="Create a billing item")
@idempotent(app)
def create_billing_item(body: NewBillingItem) -> BillingItemView:
    return BillingItemView.of(wiring.billing_items().create(app.tenant().tenant_id, name=body.name))


@app.get("/v1/billing", access=Access.MEMBER, tags=["billing"], summary="The tenant's billing items, newest first")
def list_billing_items(limit: Limit = 50, cursor: Cursor = None) -> BillingItemPageView:
    return BillingItemPageView.of(wiring.billing_items().list(app.tenant().tenant_id, limit=limit, cursor=cursor))


@app.get("/v1/billing/<billing_item_id>", access=Access.MEMBER, tags=["billing"], summary="One billing item")
def get_billing_item(billing_item_id: str) -> BillingItemView:
    return BillingItemView.of(wiring.billing_items().get(app.tenant().tenant_id, billing_item_id))


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
