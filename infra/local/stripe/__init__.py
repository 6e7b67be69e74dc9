"""A local Stripe: Stripe's REST wire format, objects from Stripe's fixtures, test clocks, signed webhooks.

For ``keel dev`` and the tests only; never deployed. See ``README.md`` beside this file.
"""

from infra.local.stripe.emulator import StripeEmulator
from infra.local.stripe.settings import (
    API_VERSION,
    DEFAULT_CATALOG,
    DeliveryPolicy,
    EmulatorSettings,
    PlanPrice,
    WebhookTarget,
)
from infra.local.stripe.webhooks import sign

__all__ = [
    "API_VERSION",
    "DEFAULT_CATALOG",
    "DeliveryPolicy",
    "EmulatorSettings",
    "PlanPrice",
    "StripeEmulator",
    "WebhookTarget",
    "sign",
]
