"""``POST /webhooks/stripe``: Stripe's deliveries, in their own function (it never loads ``stripe``:
its cold start is an API handler's, and it holds no Stripe key).

Verified on the raw body, stored once (``STRIPE_EVENT#<id>``), then acknowledged; processing happens
later, from a queue. A bad signature is a 400 and nothing is stored; a duplicate is a 200 and
nothing is done.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.billing import wiring
from functions.billing.adapters.stripe_webhook import decoded_body
from functions.billing.handlers.views import ReceiptView
from keel import observability
from keel.http import KeelResolver
from keel.tenancy import Access

SERVICE = "billing-stripe-webhook"
app = KeelResolver(service=SERVICE)


@app.post(
    "/webhooks/stripe",
    access=Access.PUBLIC,
    # 400: a signature that does not verify (or a body that is not an event) - no schema can say which.
    errors=(400, 413, 415),
    openapi_extensions={"x-keel-signature": "Stripe-Signature"},
    tags=["billing"],
    summary="Stripe's webhook deliveries (verified by their Stripe-Signature, not a credential)",
)
def receive() -> ReceiptView:
    event = app.current_event
    payload = decoded_body(event.body, is_base64=bool(event.is_base64_encoded))
    receipt = wiring.webhook_receiver().receive(payload, event.headers.get("Stripe-Signature"))
    logger = observability.for_service(SERVICE).logger
    logger.info(
        "stripe event received",
        extra={"event_id": receipt.event_id, "event_type": receipt.event_type, "outcome": receipt.outcome},
    )
    if not receipt.queued:
        logger.warning(
            "stripe event stored but not queued; reconciliation will process it", extra={"event_id": receipt.event_id}
        )
    return ReceiptView(event_id=receipt.event_id, outcome=receipt.outcome)


@observability.instrumented(SERVICE, "api")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
