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
