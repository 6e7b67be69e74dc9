"""Invitation links signed with identity's invitation key: a Secrets Manager secret in the cloud (read
once per container, on the first accept), a plain setting locally."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from keel import aws
from keel.contracts.identity import invitation_of

MIN_KEY_LENGTH = 32


def read_secret(arn: str, *, client: Callable[[], Any] = lambda: aws.client("secretsmanager")) -> str:
    """The current value of the Secrets Manager secret ``arn``."""
    return str(client().get_secret_value(SecretId=arn)["SecretString"])


class SignedInvitationLinks:
    """Implements ``InvitationLinks``: a token opens the invitation its MAC was made for."""

    def __init__(self, key: Callable[[], str]) -> None:
        self._read_key = key

    @cached_property
    def _key(self) -> bytes:
        key = self._read_key()
        if len(key) < MIN_KEY_LENGTH:
            raise RuntimeError(f"identity's invitation key must hold at least {MIN_KEY_LENGTH} characters")
        return key.encode()

    def opened_by(self, token: str) -> tuple[str, str] | None:
        return invitation_of(self._key, token)
