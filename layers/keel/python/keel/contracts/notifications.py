"""Events the notifications context publishes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from keel.events import Contract, contract


@contract
class DeliveryFailed(Contract):
    """A message could not be delivered and will not be tried again: a hard bounce, an address or a
    device token the provider refuses. The recipient is named by user id when they are a member
    (an invitee is not: ``user_id`` is then ``None``); the address itself is not in the event."""

    TYPE = "notifications.delivery.failed.v1"

    delivery_id: str = Field(description="the delivery's id in the tenant's delivery log")
    event_id: str = Field(description="the event the message was about")
    event_type: str
    channel: Literal["email", "push"]
    template: str = Field(examples=["payment_failed"])
    user_id: str | None = None
    reason: str = Field(max_length=500, description="the provider's words, or what the address or token failed")
    failed_at: datetime


@contract
class SuppressionLifted(Contract):
    """A tenant's admin lifted the suppression of an email address (it had hard-bounced): email goes to
    it again. The audit trail of that decision: which address, why it had been suppressed, who lifted it
    and when. Unlike ``delivery.failed``, the address is the fact itself, so it is in the event."""

    TYPE = "notifications.suppression.lifted.v1"

    address: str = Field(max_length=320, description="the address, lowercased, as it was suppressed")
    reason: Literal["bounced", "complained"] = Field(description="why it had been suppressed")
    delivery_id: str = Field(description="the delivery whose bounce or complaint suppressed it")
    suppressed_at: datetime
    lifted_by: str = Field(description="user id (or API key id) of the admin who lifted it")
    lifted_at: datetime
