"""SES's email events as EventBridge delivers them (source ``aws.ses``): a bounce or a complaint, read
into the ``Feedback`` it is about, or ``None`` with why it is not one.

The ``detail`` is SES's event record: ``eventType`` (``Bounce``, ``Complaint``), ``mail`` (its
``messageId`` and ``tags``, each tag a list of values) and ``bounce`` (``bounceType``: ``Permanent``,
``Transient`` or ``Undetermined``; ``bouncedRecipients``) or ``complaint`` (``complainedRecipients``).
Only a permanent bounce is a verdict; SES retries a transient one itself. An email without Keel's
tags was not sent by this context (another sender sharing the configuration set): not ours.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.notifications.adapters.ses import EVENT_TAG, TENANT_TAG
from functions.notifications.domain.feedback import Feedback
from keel.ids import is_id

_ADDRESS_MAX = 320
#: What SES lets a tag value be, bounded: a tenant id always is one.
_TAG_VALUE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class _Recipient(BaseModel):
    model_config = ConfigDict(extra="ignore")
    emailAddress: str = Field(min_length=3, max_length=_ADDRESS_MAX)


class _Bounce(BaseModel):
    model_config = ConfigDict(extra="ignore")
    bounceType: str
    bouncedRecipients: list[_Recipient] = Field(max_length=50)


class _Complaint(BaseModel):
    model_config = ConfigDict(extra="ignore")
    complainedRecipients: list[_Recipient] = Field(max_length=50)


class _Mail(BaseModel):
    model_config = ConfigDict(extra="ignore")
    messageId: str = Field(min_length=1, max_length=200)
    tags: dict[str, list[str]] = Field(default_factory=dict)


class _Detail(BaseModel):
    model_config = ConfigDict(extra="ignore")
    eventType: Literal["Bounce", "Complaint"]
    mail: _Mail
    bounce: _Bounce | None = None
    complaint: _Complaint | None = None


class NotAnEmailEvent(ValueError):
    """The EventBridge event is not an SES bounce or complaint of the shape SES publishes."""


def feedback(event: dict[str, Any]) -> tuple[Feedback | None, str]:
    """``(feedback, "")`` for a verdict on one of our emails; ``(None, why)`` otherwise. Raises
    ``NotAnEmailEvent`` when ``event`` is not SES's shape."""
    try:
        detail = _Detail.model_validate(event.get("detail"))
    except ValidationError as exc:
        raise NotAnEmailEvent(f"not an SES bounce or complaint: {exc.error_count()} invalid fields") from exc
    tenant_id = _tag(detail.mail, TENANT_TAG)
    event_id = _tag(detail.mail, EVENT_TAG)
    if tenant_id is None or event_id is None or not _TAG_VALUE.fullmatch(tenant_id) or not is_id("evt", event_id):
        return None, "not sent by notifications (no Keel tags)"
    if detail.eventType == "Bounce":
        if detail.bounce is None:
            raise NotAnEmailEvent("a Bounce event without its bounce")
        if detail.bounce.bounceType != "Permanent":
            return None, f"{detail.bounce.bounceType.lower()} bounce: SES retries it"
        verdict: Literal["bounced", "complained"] = "bounced"
        recipients = detail.bounce.bouncedRecipients
    else:
        if detail.complaint is None:
            raise NotAnEmailEvent("a Complaint event without its complaint")
        verdict, recipients = "complained", detail.complaint.complainedRecipients
    addresses = frozenset(r.emailAddress for r in recipients)
    return Feedback(verdict, tenant_id, event_id, detail.mail.messageId, addresses), ""


def _tag(mail: _Mail, name: str) -> str | None:
    values = mail.tags.get(name) or []
    return values[0] if len(values) == 1 else None
