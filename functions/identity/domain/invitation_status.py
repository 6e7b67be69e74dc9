"""The states of an invitation: pending -> accepted | revoked | expired (on its own, so that the API's
models name it without loading the invitation's rules)."""

from __future__ import annotations

from enum import StrEnum


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"
