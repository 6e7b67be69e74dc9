"""The one catalog of what Keel deploys.

Both renderers read it: ``infra/cloud`` turns it into CloudFormation with CDK and ``infra/local``
provisions the moto server and runs the handlers in-process. Each context is defined in its own
module under ``infra/contexts/`` (``keel new context NAME`` writes one); what a topology is made of,
and every naming convention, is in ``infra/model.py``. Reading the topology loads no CDK and no
Lambda code: handlers are named by module path.
"""

from __future__ import annotations

from infra.contexts import collect
from infra.model import (
    AUTHORIZER_CACHE_SECONDS,
    DEFAULT_BUS,
    LOCAL_STAGE,
    MAX_RECEIVE_COUNT,
    VISIBILITY_TIMEOUT_FACTOR,
    AssetFile,
    Context,
    Endpoint,
    HttpMethod,
    Job,
    Route,
    Subscription,
    Topology,
)

__all__ = [
    "AUTHORIZER_CACHE_SECONDS",
    "DEFAULT_BUS",
    "LOCAL_STAGE",
    "MAX_RECEIVE_COUNT",
    "TOPOLOGY",
    "VISIBILITY_TIMEOUT_FACTOR",
    "AssetFile",
    "Context",
    "Endpoint",
    "HttpMethod",
    "Job",
    "Route",
    "Subscription",
    "Topology",
]

#: The catalog, for no stage yet: ``TOPOLOGY.for_stage(stage)`` names what one stage deploys.
TOPOLOGY = Topology(
    authorizer_handler="functions.identity.handlers.authorizer",
    outbox_relay_handler="keel.outbox_relay",
    contexts=collect(),
)
