"""The reporting context's settings (``KEEL_REPORTING_*``), imported by ``wiring`` on first use."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ReportingSettings(BaseSettings):
    """``KEEL_REPORTING_*``: what the topology sets for the context, in the cloud and locally
    (``infra/contexts/reporting.py``)."""

    model_config = SettingsConfigDict(env_prefix="KEEL_REPORTING_", extra="ignore", frozen=True)

    #: The context's own table.
    table: str
    #: How long an API container keeps the model version reads use before asking again (seconds):
    #: a switch after a rebuild reaches every reader within this time.
    version_cache_seconds: float = 30.0
