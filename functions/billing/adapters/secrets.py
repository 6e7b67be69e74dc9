"""Secrets, read once per container: from Secrets Manager in the cloud (the setting holds the
secret's ARN), or from the setting itself locally and in tests."""

from __future__ import annotations

from pydantic import SecretStr

from keel import aws


def read_secret(arn: str, value: SecretStr) -> str:
    """The secret behind ``arn`` if there is one, else ``value``."""
    if arn:
        return str(aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]).strip()
    return value.get_secret_value()


def secret_list(text: str) -> list[str]:
    """Comma-separated secrets (two while one is being rolled)."""
    return [part.strip() for part in text.split(",") if part.strip()]
