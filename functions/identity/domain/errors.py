"""The rules identity refuses to break, each as an error with its own stable ``code``."""

from __future__ import annotations

from keel.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable


class LastOwner(Conflict):
    code = "last_owner"


class OwnerRequired(Forbidden):
    """Only an owner makes, unmakes or removes owners."""

    code = "owner_required"


class AccessChanged(Forbidden):
    """The caller's role was lowered, its membership ended or its API key revoked since API Gateway
    cached its authorization: a write must not ride on that stale answer."""

    code = "access_changed"


class TenantSuspended(Forbidden):
    """An operator suspended the tenant: every route of it answers this until it is reactivated."""

    code = "tenant_suspended"


class TenantChangedMeanwhile(Conflict):
    """The tenant, or its API keys, changed while an operator changed its status (the service reads
    again and retries)."""

    code = "tenant_changed"


class SeatLimitReached(Conflict):
    code = "seat_limit_reached"


class AlreadyMemberOrInvited(Conflict):
    code = "already_member_or_invited"


class AlreadyMember(Conflict):
    code = "already_member"


class SlugTaken(Conflict):
    code = "slug_taken"


class SlugReserved(Unprocessable):
    code = "slug_reserved"


class TenantLimitReached(Forbidden):
    """The user created as many tenants as they may (an operator can lift it for them)."""

    code = "tenant_limit"


class InvitationNotPending(Conflict):
    code = "invitation_not_pending"


class InvitationExpired(Conflict):
    code = "invitation_expired"


class InvitationWithdrawn(Forbidden):
    """Whoever sent the invitation can no longer grant its role (removed, demoted, or a revoked key)."""

    code = "invitation_withdrawn"


class TooManyPendingInvitations(Conflict):
    code = "pending_invitation_limit"


class InvitationForSomeoneElse(Forbidden):
    code = "invitation_email_mismatch"


class VerifiedEmailRequired(Forbidden):
    code = "verified_email_required"


class PersonRequired(Forbidden):
    """The route acts for a signed-in person; an API key cannot call it."""

    code = "person_required"


class ApiKeyLimitReached(Conflict):
    code = "api_key_limit_reached"


class MemberNotFound(NotFound):
    pass


class InvitationNotFound(NotFound):
    pass


class ApiKeyNotFound(NotFound):
    pass


class TenantNotFound(NotFound):
    pass


class InvalidCredentials(Unauthorized):
    """A bad, expired or unknown credential. ``reason`` is for logs only, never for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__("missing or invalid credentials")
        self.reason = reason


class IdentityProviderUnavailable(RuntimeError):
    """The issuer's JWKS could not be fetched: our fault (a 5xx), not the caller's."""
