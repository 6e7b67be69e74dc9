"""The notifications context's settings (``KEEL_NOTIFICATIONS_*``), imported by ``wiring`` on first
use."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotificationsSettings(BaseSettings):
    """``KEEL_NOTIFICATIONS_*``: what the topology sets for the context, in the cloud and locally
    (``infra/contexts/notifications.py``), and what a deployment sets in ``keel:settings``."""

    model_config = SettingsConfigDict(env_prefix="KEEL_NOTIFICATIONS_", extra="ignore", frozen=True)

    #: The context's own table.
    table: str
    #: The weekly summary's work queue (set by the topology).
    summaries_queue: str = ""
    #: Who emails come from: an address (or a domain) verified in SES for the deployment.
    sender: str = "Keel <notifications@keel.local>"
    #: The SES configuration set every email goes through (set by the topology: its events, its reputation).
    configuration_set: str = ""
    #: The public base URL of the API: unsubscribe links point at ``<api_url>/v1/notifications/unsubscribe``.
    api_url: str = "http://127.0.0.1:8080"
    #: Sends per second, per provider, across every consumer at once (SES's account rate; FCM's quota).
    email_rate: int = Field(default=14, ge=1)
    push_rate: int = Field(default=500, ge=1)
    #: FCM HTTP v1: where it is, and the Firebase project.
    fcm_endpoint: str = "https://fcm.googleapis.com"
    fcm_project_id: str = "keel-local"
    #: Secrets: a Secrets Manager secret in the cloud (``*_arn``, the secret's ARN or name), the value
    #: itself locally. The unsubscribe key signs unsubscribe links; the FCM service account's JSON key
    #: mints FCM's access tokens (anything else: push goes unauthenticated, as ``keel dev``'s emulator
    #: wants); the invitation key is identity's, read to make invitation links.
    unsubscribe_key_arn: str = ""
    unsubscribe_key: SecretStr = SecretStr("")
    fcm_service_account_arn: str = ""
    fcm_service_account: SecretStr = SecretStr("")
    invitation_key_arn: str = ""
    invitation_key: SecretStr = SecretStr("")

    @property
    def unsubscribe_url(self) -> str:
        return f"{self.api_url.rstrip('/')}/v1/notifications/unsubscribe?token={{token}}"
