"""Billing's business errors: ``keel.http`` answers each with its status and code, in the one error
shape. A 409 never leaves a second Stripe object behind: each is raised before Stripe is called."""

from __future__ import annotations

from keel.errors import BadRequest, Conflict, KeelError, NotFound, Unprocessable


class InvoiceNotFound(NotFound):
    """No such invoice in the caller's tenant (another tenant's is not found either)."""


class NoBillingAccount(NotFound):
    """The tenant has no billing account yet (its sign-up is still being provisioned)."""


class NoOverride(NotFound):
    """The tenant's entitlements are not overridden."""


class SubscriptionExists(Conflict):
    """Checkout while a paid subscription exists: it would make a second one."""

    code = "subscription_exists"


class SamePlan(Conflict):
    """A change to the plan and interval the tenant is already on."""

    code = "same_plan"


class NoPaidSubscription(Conflict):
    """Something only a paid subscription can do (change, cancel, preview), on the free plan."""

    code = "no_paid_subscription"


class AlreadyCanceled(Conflict):
    """Cancelling a subscription that is canceled, or already set to end with its period."""

    code = "already_canceled"


class NoStripeCustomer(Conflict):
    """The billing portal needs a Stripe customer: the tenant never checked out."""

    code = "no_stripe_customer"


class NotAPaidPlan(Unprocessable):
    """Checkout or a change to the free plan (cancel instead), or to a plan that is not sold."""

    code = "not_a_paid_plan"


class RefundTooLarge(Unprocessable):
    """More than is left to refund on the invoice."""

    code = "refund_exceeds_remainder"


class NotRefundable(Unprocessable):
    """An invoice that was not paid, or has nothing left to refund."""

    code = "not_refundable"


class IdempotencyKeyRequired(BadRequest):
    """Refunds move money: a retry must be recognisable as one."""

    code = "idempotency_key_required"


class InvalidOverride(Unprocessable):
    """An override that would grant nothing, or lapse before it starts."""

    code = "invalid_override"


class UnknownPrice(KeelError):
    """A Stripe price the plan catalog does not know (a settings mistake): the event is retried."""

    status = 500
    code = "unknown_price"


class StripeUnavailable(KeelError):
    """Stripe did not answer, or answered 5xx / 429: try again later (nothing was changed here)."""

    status = 503
    code = "stripe_unavailable"


class StripeRefused(KeelError):
    """Stripe refused the request (a card declined, a state Stripe does not allow)."""

    status = 402
    code = "payment_refused"


class InvalidSignature(BadRequest):
    """A Stripe webhook whose signature does not verify: not stored, not processed."""

    code = "invalid_signature"


class RefundAlreadyRecorded(Conflict):
    """This Stripe refund is recorded already (the processor heard of it first)."""

    code = "refund_already_recorded"


class ConcurrentChange(Conflict):
    """Someone else changed the same account or invoice at the same moment (a webhook, say): the
    services read it again and retry; what still conflicts after that is a 409."""

    code = "concurrent_change"
