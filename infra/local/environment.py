"""The settings every handler reads, as environment variables, for all contexts at once.

All contexts share one process locally, so every name must be unique across contexts and is set
once, before the first handler runs; nothing swaps ``os.environ`` per call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from infra.model import LOCAL_CORS_ORIGINS
from infra.topology import Topology

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
#: moto's account: locally, the tenant-access role lives there (moto's STS assumes any role and evaluates
#: no policy: ``keel.isolation`` checks each request against the same leading keys the cloud role grants).
MOTO_ACCOUNT = "123456789012"


def local_tenant_role_arn(topology: Topology) -> str:
    """The tenant-access role the local runtime assumes for a tenant, one for all contexts (one process)."""
    return f"arn:aws:iam::{MOTO_ACCOUNT}:role/{topology.resource_name('tenant')}"


class SettingConflict(ValueError):
    """Two contexts want different values under one environment name."""


def local_secret(context: str, name: str) -> str:
    """The value of a context's secret in the local runtime: fixed and public, as nothing local is deployed."""
    return f"local-only-{context}-{name}-not-a-secret"


def local_environment(
    topology: Topology,
    *,
    moto_endpoint: str,
    repo_root: Path = REPO_ROOT,
    region: str = REGION,
    identity_provider: Mapping[str, str] | None = None,
    authorizer_cache: Mapping[str, str] | None = None,
    stripe: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every variable the handlers of ``topology`` (rendered for its stage, ``LOCAL_STAGE`` for
    ``keel dev``) read, pointing boto3 at ``moto_endpoint``.

    ``identity_provider``: the local IdP, as ``Topology.identity_provider_settings`` names it;
    ``authorizer_cache``: the API on moto that stands for the local gateway, as
    ``Topology.authorizer_cache_settings`` names it;
    ``stripe``: the local Stripe emulator, as ``Topology.stripe_settings`` names it."""
    values: dict[str, str] = {
        **topology.platform_environment(cors_origins=LOCAL_CORS_ORIGINS),
        **topology.tenant_isolation_environment(local_tenant_role_arn(topology)),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        **(identity_provider or {}),
        **(authorizer_cache or {}),
        **(stripe or {}),
    }
    owners: dict[str, str] = dict.fromkeys(values, "platform")
    for ctx in topology.contexts:
        # Locally a context reads its asset files where they are in the repository.
        assets = {ctx.setting_name(f.setting): str(repo_root / f.source) for f in ctx.asset_files}
        # The Stripe emulator's key and webhook secret stand in for a Stripe context's secrets of those names.
        secrets = {
            ctx.secret_setting(name): local_secret(ctx.name, name)
            for name in ctx.secrets
            if ctx.secret_setting(name) not in (stripe or {})
        } | {ctx.secret_setting(name): local_secret(owner, name) for owner, name in ctx.reads_secrets}
        for env_name, value in (ctx.environment | assets | secrets).items():
            if env_name in values and values[env_name] != value:
                first = f"{values[env_name]!r} by {owners[env_name]}"
                raise SettingConflict(f"{env_name} is set to {first} and to {value!r} by {ctx.name}")
            values[env_name] = value
            owners[env_name] = ctx.name
    return values


class EnvironmentOverlay:
    """Sets variables once and can put back what was there before (tests share one process)."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self._previous: dict[str, str | None] = {}

    def apply(self) -> None:
        self._previous = {name: os.environ.get(name) for name in self.values}
        os.environ.update(self.values)
        _forget_kernel_caches()

    def restore(self) -> None:
        for name, value in self._previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._previous = {}
        _forget_kernel_caches()


@contextmanager
def applied(values: Mapping[str, str]) -> Iterator[None]:
    overlay = EnvironmentOverlay(values)
    overlay.apply()
    try:
        yield
    finally:
        overlay.restore()


def _forget_kernel_caches() -> None:
    # Settings, boto3 clients and the idempotency store are cached per container; they must be
    # rebuilt from the new values (tests start several runtimes, each on its own moto port).
    from keel import reset_caches

    reset_caches()
