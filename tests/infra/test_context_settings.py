"""Each context's settings class reads exactly what the topology sets for it: its own prefix, and a
field for every setting the topology gives it (table, settings, asset files, the identity provider)."""

from __future__ import annotations

import importlib

import pytest
from pydantic_settings import BaseSettings

from infra.model import IDP_AUDIENCE, IDP_ISSUER, IDP_JWKS_URL, Context
from infra.topology import TOPOLOGY


def settings_class(ctx: Context) -> type[BaseSettings]:
    module = importlib.import_module(f"{ctx.package}.settings")
    classes = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, BaseSettings)]
    (found,) = [cls for cls in classes if cls is not BaseSettings]
    return found


def given_settings(ctx: Context) -> set[str]:
    names = set(ctx.for_stage("any").environment) | {ctx.setting_name(f.setting) for f in ctx.asset_files}
    if TOPOLOGY.authorizer_context is ctx:
        names |= {ctx.setting_name(n) for n in (IDP_ISSUER, IDP_AUDIENCE, IDP_JWKS_URL)}
    return names


@pytest.mark.parametrize("ctx", TOPOLOGY.contexts, ids=lambda ctx: ctx.name)
def test_a_contexts_settings_read_its_prefix_and_every_setting_the_topology_gives_it(ctx: Context) -> None:
    cls = settings_class(ctx)
    assert cls.model_config.get("env_prefix") == ctx.setting_prefix
    fields = {ctx.setting_name(name) for name in cls.model_fields}
    assert given_settings(ctx) <= fields
