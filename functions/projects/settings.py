"""The projects context's settings (``KEEL_PROJECTS_*``), imported by ``wiring`` on first
use."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ProjectsSettings(BaseSettings):
    """``KEEL_PROJECTS_*``: what the topology sets for the context, in the cloud and locally
    (``infra/contexts/projects.py``)."""

    model_config = SettingsConfigDict(env_prefix="KEEL_PROJECTS_", extra="ignore", frozen=True)

    #: The context's own table.
    table: str
