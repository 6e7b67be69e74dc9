"""Notifications: email (SES), in-app and push (FCM) messages driven only by events, with each member's
preferences and devices, the tenant's delivery log, and its own read model of identity's members."""

from __future__ import annotations

from infra.model import Context, Job, Route, Subscription

_H = "functions.notifications.handlers"
_UNSUBSCRIBE = "/v1/notifications/unsubscribe"
#: SES's detail-types on EventBridge for a bounce and a complaint.
SES_BOUNCED, SES_COMPLAINED = "Email Bounced", "Email Complaint Received"

CONTEXT = Context(
    name="notifications",
    api_handler=f"{_H}.api",
    keys_module="functions.notifications.adapters.store",
    api_prefixes=("/v1/notifications", "/v1/notification-preferences", "/v1/devices"),
    # An email's one-click unsubscribe link: its signed token is the credential (RFC 8058).
    public_routes=(Route("POST", _UNSUBSCRIBE),),
    table=True,
    sends_email=True,
    subscriptions=(
        # The read model of tenants and members: every recipient comes from here, never identity's table.
        Subscription(
            name="members",
            handler=f"{_H}.on_member_events",
            event_types=(
                "identity.tenant.created.v1",
                "identity.member.joined.v1",
                "identity.member.role_changed.v1",
                "identity.member.removed.v1",
            ),
        ),
        Subscription(
            name="welcome", handler=f"{_H}.on_subscription_started", event_types=("billing.subscription.started.v1",)
        ),
        Subscription(name="invitations", handler=f"{_H}.on_user_invited", event_types=("identity.user.invited.v2",)),
        Subscription(name="joined", handler=f"{_H}.on_member_joined", event_types=("identity.member.joined.v1",)),
        Subscription(
            name="payment-failed", handler=f"{_H}.on_payment_failed", event_types=("billing.payment.failed.v1",)
        ),
        Subscription(name="refund-issued", handler=f"{_H}.on_refund_issued", event_types=("billing.refund.issued.v1",)),
        Subscription(name="trial-ending", handler=f"{_H}.on_trial_ending", event_types=("billing.trial.ending.v1",)),
        Subscription(
            name="subscription-canceled",
            handler=f"{_H}.on_subscription_canceled",
            event_types=("billing.subscription.canceled.v1",),
        ),
        Subscription(
            name="tenant-suspended", handler=f"{_H}.on_tenant_suspended", event_types=("identity.tenant.suspended.v1",)
        ),
        # A work queue: the weekly job puts one message per opted-in member here.
        Subscription(name="summaries", handler=f"{_H}.summaries", event_types=()),
        # SES's asynchronous verdicts on what it accepted: hard bounces and complaints fail the delivery.
        Subscription(
            name="email-events",
            handler=f"{_H}.on_email_events",
            aws_source="aws.ses",
            event_types=(SES_BOUNCED, SES_COMPLAINED),
        ),
    ),
    jobs=(
        Job(
            name="weekly-summary",
            handler=f"{_H}.weekly_summary",
            schedule="cron(0 8 ? * MON *)",
            feeds=("summaries",),
        ),
    ),
    # Signs unsubscribe links; FCM's service account key (fill it: see the README). Identity's
    # invitation key is read too, to make the invitation email's accept link.
    secrets=("unsubscribe-key", "fcm-service-account"),
    reads_secrets=(("identity", "invitation-key"),),
    # The sender, the API's public URL (for unsubscribe links), the send rates and FCM's project come
    # from keel:settings per deployment (KEEL_NOTIFICATIONS_SENDER, _API_URL, _EMAIL_RATE, _FCM_PROJECT_ID).
    settings={},
)
