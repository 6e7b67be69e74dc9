"""Settings every function shares (``KEEL_*``). Imported on first use: pydantic-settings is not free."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformSettings(BaseSettings):
    """Context settings subclass ``BaseSettings`` with their own ``KEEL_<CONTEXT>_`` prefix (in a
    ``settings.py`` their wiring imports lazily) so that all contexts can share one process locally."""

    model_config = SettingsConfigDict(env_prefix="KEEL_", extra="ignore", frozen=True)

    #: The stage and the names of what it shares: always set by the renderer from the topology's
    #: names for the stage (``infra/model.py``), never a default here that could name another stage's.
    stage: str
    bus_name: str
    idempotency_table: str
    #: Browser origins allowed to call the API, comma-separated (``keel.cors``); none by default.
    cors_origins: str = ""
    #: The context's tenant-access role (``keel.isolation``): assumed, with the tenant as a session tag,
    #: by requests and events that act for a tenant. Empty: every call acts with the function's own role.
    tenant_role_arn: str = ""
    #: What the tenant-access role may touch: a JSON object, table -> ``dynamodb:LeadingKeys`` patterns.
    tenant_keys: str = ""
    region: str = Field(default="us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
